// CRCClient
