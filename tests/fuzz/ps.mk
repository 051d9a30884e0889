# fuzz-ps-http: ferry-ps's HTTP request-head parser (tools/ps/http.c), the
# code that faces the network before authentication.  The ps.proto
# messages are covered by fuzz-proto with every other schema.
FUZZERS += fuzz-ps-http
fuzz-ps-http_SRCS := tests/fuzz/ps_http.c tools/ps/http.c
$(eval $(call fuzzer,fuzz-ps-http))
fuzzers: $(FUZZ_DIR)/fuzz-ps-http
