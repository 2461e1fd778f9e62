// Package logging is the redacting log that every Tokentray process
// writes through: secrets registered with Redact or RedactToken, and
// attributes whose key names a secret, never reach a log line.
//
// It imports nothing of Tokentray, so that every package may use it.
package logging
