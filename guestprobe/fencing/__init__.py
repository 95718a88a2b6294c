"""``guestprobe fencing-test``: prove SCSI-3 PR fencing on a disk with real PERSISTENT RESERVE OUT.

Collect, decode, judge, as everywhere else: :mod:`.preflight` (a read-only scan and the refusals),
:mod:`.keys` (this tool's own key format), :mod:`.prout` (the sg_persist argv lists),
:mod:`.sequence` (send the planned steps, judge each answer, always clean up and verify),
:mod:`.signals` (SIGINT/SIGTERM into the cleanup), :mod:`.verdict` (steps into one verdict),
:mod:`.report` (JSON document and table); the command line is :mod:`guestprobe.cli.fencing`.
"""
