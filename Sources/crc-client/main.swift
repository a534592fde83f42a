import CRCClient
import CRCCore

dieWithParentIfAsked()
ClientCLI.main()
