"""``guestprobe host``: the KVM host's side of every disk of the named domains (or all)."""


import sys

import click

from guestprobe.errors import BadInputError, ExitStatus


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
    from guestprobe.cli.common import VERDICT_ORDER, terminal_width
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
    document = host_document(found, source)
    text = to_json(document)
    if output:
        write_atomically(output, text.encode(), mode=0o600)
    if as_json:
        if not output:
            click.echo(text, nl=False)
    else:
        click.echo(render_host(document, brief=brief, width=terminal_width()), nl=False)
    if fail_on:
        threshold = VERDICT_ORDER.index(fail_on)
        verdicts = [v for d in document["domains"] for disk in d["disks"] for v in disk["verdicts"]]
        verdicts += [v for d in document["domains"] for v in d["domain_verdicts"]]
        if any(VERDICT_ORDER.index(v["status"]) >= threshold for v in verdicts):
            sys.exit(ExitStatus.FAIL_ON)
