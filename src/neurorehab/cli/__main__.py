from neurorehab.cli.app import main

main()
