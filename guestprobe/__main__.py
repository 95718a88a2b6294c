from guestprobe.cli import main

main()
