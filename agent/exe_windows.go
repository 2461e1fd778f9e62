package agent

const exeSuffix = ".exe"
