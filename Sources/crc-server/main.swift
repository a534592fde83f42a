import CRCServer

ServerCLI.main()
