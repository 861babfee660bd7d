package hostinfo

import "syscall"

// machine returns what Python's platform.machine() returns on Linux: the
// machine field of uname(2) ("x86_64", "aarch64"), or "" if uname fails.
func machine() string {
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		return ""
	}
	b := make([]byte, 0, len(u.Machine))
	for _, c := range u.Machine {
		if c == 0 {
			break
		}
		b = append(b, byte(c))
	}
	return string(b)
}
