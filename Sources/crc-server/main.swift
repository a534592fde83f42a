import CRCCore
import CRCServer
import CRCContract

dieWithParentIfAsked()
ServerCLI.main()
