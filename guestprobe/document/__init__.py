"""The report as typed records, and their JSON edge.

* :mod:`.model`: ``Report``, ``DiskReport``, the fact groups (holding the decoders' records with
  their evidence ids), ``LogicalUnit``; :mod:`.verdict`: the one ``Verdict``/``Reason``/``Remedy``;
* :mod:`.host`: the KVM host's documents: ``HostDocument`` (``guestprobe host``) and
  ``HostJoin``, the ``host_join`` that ``report --host`` / ``compare --host`` add to a report;
* :mod:`.codec`: JSON checked and built into records in one walk (``from_dict``), records back
  to JSON (``to_dict``); the report's schema is ``schema.json``;
* :mod:`.build`: the report of a collection, and a saved report read back (its raw collection,
  decoded and judged again); :mod:`.inputs`: the one bounded reader of files given to guestprobe.

This package is the only place the report's key names are spelled.
"""
