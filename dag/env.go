package dag

import (
	"fmt"
	"strconv"
)

// The environment variables that choose the default mode, as in the system
// Maestro replaces.
const (
	EnvEnableDAG      = "MAESTRO_ENABLE_DAG_EXECUTION"
	EnvEnableParallel = "MAESTRO_ENABLE_PARALLEL_EXECUTION"
)

// ModeFromEnv returns the default mode for pipelines that do not name one:
// DAG off → linear; DAG on, parallel off → dag_linear; both on →
// dag_parallel. getenv is usually os.Getenv; unset variables count as false.
func ModeFromEnv(getenv func(string) string) (Mode, error) {
	dagOn, err := envBool(getenv, EnvEnableDAG)
	if err != nil {
		return "", err
	}
	parOn, err := envBool(getenv, EnvEnableParallel)
	if err != nil {
		return "", err
	}
	switch {
	case !dagOn:
		return ModeLinear, nil
	case !parOn:
		return ModeDAGLinear, nil
	default:
		return ModeDAGParallel, nil
	}
}

func envBool(getenv func(string) string, name string) (bool, error) {
	v := getenv(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s=%q: want true or false", name, v)
	}
	return b, nil
}
