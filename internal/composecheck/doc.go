// Package composecheck holds no code of its own: its tests check kycflow's
// docker-compose.yml, Dockerfile, .dockerignore and .env.example without a
// Docker engine. They load the compose file with the compose-spec Go loader
// (the library Docker Compose itself uses) and assert the services, images
// and builds, published ports, environment, dependencies and health checks
// that the stack relies on, and run the binaries' own configuration loaders
// on each service's resolved environment.
package composecheck
