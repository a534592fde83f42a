import CRCClient

ClientCLI.main()
