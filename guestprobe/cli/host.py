"""``guestprobe host``: the KVM host's side of every disk of the named domains (or all)."""


import sys

import click

from guestprobe.errors import BadInputError, ExitStatus

# what one run may expand into (each domain is also capped: guestprobe.host.domain_xml)
MAX_HOST_DISKS = 4096
MAX_HOST_OUTPUT_BYTES = 64 * 1024 * 1024


@click.command("host")
@click.argument("domains", nargs=-1)
@click.option("--connect", "-c", "uri", metavar="URI",
              help="libvirt URI (default: libvirt's own default, e.g. qemu:///system as root). "
              "The connection is read-only.")
@click.option("--xml", "xml_files", multiple=True, metavar="FILE",
              help="Read a domain XML file (virsh dumpxml DOMAIN > FILE) instead of libvirt; "
              "may be given more than once.")
@click.option("--vmi", "vmi_files", multiple=True, metavar="FILE",
              help="Read a KubeVirt VirtualMachineInstance (kubectl get vmi NAME -o json; YAML "
              "only where PyYAML is installed).")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON document instead of tables.")
@click.option("-o", "--output", metavar="FILE",
              help="Also write the JSON document to FILE (atomically, mode 0600).")
@click.option("--brief", is_flag=True, help="Only the tables, no findings.")
@click.option("--fail-on", type=click.Choice(["unknown", "degraded", "not_usable"]),
              help="Exit 1 when any verdict is this bad or worse.")
def host_command(domains, uri, xml_files, vmi_files, as_json, output, brief, fail_on):
    """List every disk of each libvirt DOMAIN (all when none named) as the host configures it,
    and judge it: cache, device='lun', reservations, error policy, discard, PCI slots.

    Its JSON joins a guest's report: guestprobe report GUEST.json --host HOST.json.
    """
    from guestprobe.cli.common import VERDICT_ORDER, terminal_width, write_out
    from guestprobe.host import collect
    from guestprobe.host.judge import host_document
    from guestprobe.host.table import render_host
    from guestprobe.report.output import to_json, write_atomically

    if (xml_files or vmi_files) and (domains or uri):
        raise BadInputError("name domains (and --connect) or give --xml/--vmi files, not both")
    if xml_files or vmi_files:
        found = [collect.domain_from_file(p) for p in xml_files]
        found += [collect.load_vmi(p) for p in vmi_files]
        source = {"source": "files"}
    else:
        found = collect.domains_from_libvirt(uri, list(domains))
        source = {"source": "libvirt", "uri": found[0]["source"]["uri"] if found else uri}
    disks = sum(len(d["disks"]) for d in found)
    if disks > MAX_HOST_DISKS:
        raise BadInputError(f"{disks} disks in the domains given, more than the {MAX_HOST_DISKS} "
                            "one guestprobe host run judges; name fewer domains or files")
    judged = host_document(found, source)
    document = judged.to_dict()
    text = to_json(document)
    if len(text) > MAX_HOST_OUTPUT_BYTES:
        raise BadInputError(f"the host document would be {len(text) // (1024 * 1024)} MiB, more "
                            f"than the {MAX_HOST_OUTPUT_BYTES // (1024 * 1024)} MiB guestprobe "
                            "host writes; name fewer domains or files")
    if output:
        write_atomically(output, text, mode=0o600)
    if as_json:
        if not output:
            write_out(text)
    else:
        write_out(render_host(judged, brief=brief, width=terminal_width()))
    if fail_on:
        threshold = VERDICT_ORDER.index(fail_on)
        verdicts = [v for d in document["domains"] for disk in d["disks"] for v in disk["verdicts"]]
        verdicts += [v for d in document["domains"] for v in d["domain_verdicts"]]
        if any(VERDICT_ORDER.index(v["status"]) >= threshold for v in verdicts):
            sys.exit(ExitStatus.FAIL_ON)
