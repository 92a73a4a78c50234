"two"
