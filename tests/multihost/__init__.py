"""Several hosts on one Linux machine: each a network namespace with its own address, its own
hostname and its own folders, joined by a bridge in a namespace of its own, so nothing touches
the machine's own network. Used by tests/e2e/test_multihost.py and scripts/multihost.py."""
