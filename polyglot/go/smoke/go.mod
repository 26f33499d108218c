module nebula-images-polyglot/smoke

go 1.23

require (
	github.com/nebulablock/nebula-images-go v1.0.0
	gopkg.in/validator.v2 v2.0.1
)

// The generated client from this repository, and a local stand-in for its one
// third-party import (the Go module proxy is not reachable here).
replace github.com/nebulablock/nebula-images-go => ../../../generated/go

replace gopkg.in/validator.v2 => ../validator
