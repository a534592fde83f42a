// CRCCluster
