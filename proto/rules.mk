# Protobuf schemas shared by agent and tools; generated into $(B)/proto.
PROTOS += $(wildcard proto/*.proto)
