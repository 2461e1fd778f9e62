package store

import (
	"github.com/godbus/dbus/v5"
	ss "github.com/zalando/go-keyring/secret_service"
)

// The Secret Service's names, as go-keyring's secret_service package uses
// them; it exports no constants.
const (
	secretsBus       = "org.freedesktop.secrets"
	secretsPath      = "/org/freedesktop/secrets"
	secretsInterface = "org.freedesktop.Secret.Service"
	itemAttributes   = "org.freedesktop.Secret.Item.Attributes"
)

// listKeychain searches every collection of the Secret Service for items
// with go-keyring's attribute "service" equal to service, and returns each
// with its "username" attribute, the account. go-keyring itself cannot
// list. Locked items are unlocked first, which may show the unlock prompt:
// a locked item's attributes are not always readable.
func listKeychain(service string) ([]Entry, error) {
	svc, err := ss.NewSecretService()
	if err != nil {
		return nil, err
	}
	var unlocked, lockedItems []dbus.ObjectPath
	err = svc.Object(secretsBus, secretsPath).Call(secretsInterface+".SearchItems", 0, map[string]string{"service": service}).Store(&unlocked, &lockedItems)
	if err != nil {
		return nil, err
	}
	for _, item := range lockedItems {
		if err := svc.Unlock(item); err != nil {
			return nil, err
		}
	}
	var entries []Entry
	for _, item := range append(unlocked, lockedItems...) {
		v, err := svc.Object(secretsBus, item).GetProperty(itemAttributes)
		if err != nil {
			return nil, err
		}
		attrs, _ := v.Value().(map[string]string)
		entries = append(entries, Entry{Account: attrs["username"], Item: string(item)})
	}
	return entries, nil
}

// deleteKeychainItem deletes one item by its path, so that of two items
// with the same attributes the one listed goes.
func deleteKeychainItem(item string) error {
	svc, err := ss.NewSecretService()
	if err != nil {
		return err
	}
	return svc.Delete(dbus.ObjectPath(item))
}
