# bash completion for guestprobe(8)                                        -*- shell-script -*-
# Written by hand (static, so a TAB press starts no Python and works with click 7 and 8 alike);
# tests/unit/test_packaging.py checks it names every command and option the CLI has.

_guestprobe_devices()
{
    local dev
    for dev in /dev/sd* /dev/vd* /dev/xvd* /dev/nvme*n* /dev/dm-* /dev/mapper/* /dev/sg*; do
        [[ -b $dev || -c $dev ]] && printf '%s\n' "$dev"
    done
}

_guestprobe()
{
    local cur prev words cword
    if declare -F _init_completion >/dev/null; then
        _init_completion || return
    else
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD-1]}
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
    fi

    local commands="scan report collect compare fencing-test fencing-node fencing-cluster explain"
    commands+=" host exit-statuses"
    local scan_opts="--all --no-write-probes --timeout --workers --live-vpd --engine"
    local command="" i
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            -*) ;;
            *) command=${words[i]}; break ;;
        esac
    done

    case $prev in
        --fail-on)
            mapfile -t COMPREPLY < <(compgen -W "unknown degraded not_usable" -- "$cur")
            return ;;
        --engine)
            mapfile -t COMPREPLY < <(compgen -W "lib cli" -- "$cur")
            return ;;
        -o|--output|--html|--xml|--vmi|--host)
            mapfile -t COMPREPLY < <(compgen -f -- "$cur")
            return ;;
        --rules-dir)
            mapfile -t COMPREPLY < <(compgen -d -- "$cur")
            return ;;
        --peer)
            mapfile -t COMPREPLY < <(compgen -W "$(_guestprobe_devices)" -- "$cur")
            return ;;
        --timeout|--workers|--redact-key|-c|--connect|--disk|--feature)
            return ;;
    esac

    local opts files=""
    case $command in
        "")
            opts="--version --man --completion --help -h $commands" ;;
        scan)
            opts="--json -o --output --fail-on --brief --html --disk --feature $scan_opts --help -h" ;;
        collect)
            opts="-o --output --redact --redact-key $scan_opts --help -h" ;;
        report)
            opts="--json -o --output --fail-on --redact-key --brief --html --host --disk --feature --help -h"
            files=1 ;;
        compare)
            opts="--json --redact-key --html --host --cluster-id --fail-on --help -h"; files=1 ;;
        host)
            opts="-c --connect --xml --vmi --json -o --output --brief --fail-on --help -h" ;;
        explain)
            opts="--rules-dir --help -h" ;;
        fencing-test)
            opts="--peer --yes-i-understand-this-sends-pr-out --force --json -o --output"
            opts+=" --timeout --help -h" ;;
        fencing-node)
            opts="--lu --run-id --node --nodes --holder --victim --record --force --json --timeout"
            opts+=" --yes-i-understand-this-sends-pr-out --help -h" ;;
        fencing-cluster)
            opts="--run-id --json -o --output --help -h"; files=1 ;;
        *)
            opts="--help -h" ;;
    esac

    if [[ $cur == -* || -z $command ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
    elif [[ -n $files ]]; then
        mapfile -t COMPREPLY < <(compgen -f -X '!*.@(json|tar.gz|tgz)' -- "$cur"; compgen -d -- "$cur")
    elif [[ $command == scan || $command == collect || $command == fencing-test ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$(_guestprobe_devices)" -- "$cur")
    fi
} &&
complete -F _guestprobe guestprobe
