// Package sdkcompat proves that Mangopay's official SDKs can talk to the
// Sandbox simulator in ../sandbox, as the project requires.
//
// It holds no Go code of its own. Its test starts the simulator in-process on
// a loopback HTTP server and runs compat.mjs, a script that drives the
// official Node.js SDK (npm package mangopay4-nodejs-sdk, pinned to an exact
// version in package.json and package-lock.json) pointed at the simulator's
// URL through the SDK's baseUrl setting. Through the SDK only, the script
// authenticates (OAuth client credentials), creates natural, legal and payer
// users on the SCA endpoints and reads them back, opens an IDV session with
// an idempotency key and reads the stored response back, submits a KYC
// document with a page, registers and updates a hook, lists events, and walks
// the error paths (unknown user, PAYER, reused idempotency key, bad
// credentials), checking each time that the SDK surfaced Mangopay's error
// fields. Between its two phases the test validates the session through the
// simulator's control API and moves the simulated clock, and the second phase
// reads the outcome back through the SDK.
//
// Run it with
//
//	go test -race ./mangopaysim/sdkcompat/
//
// The test installs the SDK with `npm ci` into node_modules/ (git-ignored)
// when it is missing, and skips, saying why, when Node.js or npm is absent or
// the npm registry cannot be reached. The script also runs by hand against any
// base URL:
//
//	cd mangopaysim/sdkcompat && npm ci && node compat.mjs --base-url http://127.0.0.1:8090 --hook-url http://127.0.0.1:9999/hook
package sdkcompat
