import CRCCore
import CRCServer

dieWithParentIfAsked()
ServerCLI.main()
