"""Paths of one logical unit: disks that share an LU-associated designator are one LU."""


from collections.abc import Iterable


def group_paths(designators: "Iterable[tuple[str, str | None]]") -> "list[dict[str, object]]":
    """Group ``(disk name, LU designator or None)`` pairs by designator.

    >>> group_paths([("sda", "naa.6001"), ("sdc", "naa.6001"), ("vda", None)])
    [{'lu_designator': 'naa.6001', 'disks': ['sda', 'sdc'], 'path_count': 2}]
    """
    groups: "dict[str, list[str]]" = {}
    for disk, designator in designators:
        if designator:
            groups.setdefault(designator, []).append(disk)
    return [
        {"lu_designator": designator, "disks": sorted(disks), "path_count": len(disks)}
        for designator, disks in sorted(groups.items())
    ]
