// CRCServer
