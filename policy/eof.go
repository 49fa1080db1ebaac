package policy

import "io"

// errEOF is what decoding an empty policy file returns.
var errEOF = io.EOF
