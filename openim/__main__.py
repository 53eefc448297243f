from openim.cli import main

main()
