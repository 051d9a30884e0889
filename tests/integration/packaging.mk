# integ-packaging: .deb contents and a DKMS build of ferry.ko.
INTEG_SCRIPTS += integ-packaging
$(BIN)/integ-packaging: tests/integration/packaging.sh
	@mkdir -p $(dir $@)
	install -m 0755 $< $@
