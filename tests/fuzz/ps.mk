# fuzz-ps-http: ferry-ps's HTTP request-head parser.
# fuzz-ps-proto: every proto/ps.proto message decoded from the network.
FUZZERS += fuzz-ps-http fuzz-ps-proto
fuzz-ps-http_SRCS := tests/fuzz/ps_http.c tools/ps/http.c
fuzz-ps-proto_SRCS := tests/fuzz/ps_proto.c
