package config

// rules are the checks across variables that keep an unsafe setting from
// starting.
func rules(e *Env) []error {
	return nil
}
