# unit-ps-http: ferry-ps's HTTP request-head parser, case by case.
UNIT_TESTS += unit-ps-http
unit-ps-http_SRCS := tests/unit/ps_http.c tools/ps/http.c
unit-ps-http_LDLIBS := -lcmocka
