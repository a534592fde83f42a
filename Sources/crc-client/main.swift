import CRCClient
import CRCCore
import CRCContract

dieWithParentIfAsked()
ClientCLI.main()
