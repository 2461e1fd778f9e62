package localapi

const exeSuffix = ".exe"
