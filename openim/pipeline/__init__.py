"""The send path as a pipeline of batches: msg stage -> transfer (seqs, durable commit) -> push (fan-out).

Each stage is one task per owned partition that takes everything queued and hands a list on. Between
stages sits a :class:`openim.pipeline.handoff.Handoff`: in one process it passes the Python objects by
reference (nothing is encoded), across processes it writes one protobuf per item to the bus, pipelined
per batch. The stage code is the same for both. See docs/architecture.md, "The send path".
"""
