package rapl

import (
	"errors"
	"fmt"
	"path/filepath"
)

// DefaultRoot is the sysfs mount point read when WithRoot is not used; the
// zones are under DefaultRoot/class/powercap.
const DefaultRoot = "/sys"

// ErrInvalidOption is wrapped by the error Open returns for an invalid
// option value.
var ErrInvalidOption = errors.New("rapl: invalid option")

// Option configures Open. Options only record values; Open checks them
// together after applying all of them, so their order never matters. A
// repeated option replaces the earlier value.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// readFunc reads the start of the file at path into buf and returns the
// number of bytes read. Tests replace it to simulate permission errors as
// root.
type readFunc func(path string, buf []byte) (int, error)

type config struct {
	root string
	read readFunc
}

func newConfig(opts []Option) (config, error) {
	c := config{root: DefaultRoot, read: readFile}
	for _, o := range opts {
		if o == nil {
			return c, fmt.Errorf("%w: nil Option", ErrInvalidOption)
		}
		o.apply(&c)
	}
	return c, c.validate()
}

func (c *config) validate() error {
	if c.root == "" {
		return fmt.Errorf("%w: WithRoot: empty path", ErrInvalidOption)
	}
	c.root = filepath.Clean(c.root)
	return nil
}

// WithRoot sets the sysfs mount point: the sampler reads its zones from
// root/class/powercap (root "/sys" gives /sys/class/powercap). Tests point
// it at a fixture tree; a container that bind-mounts the host's sysfs
// elsewhere points it there. The path must not be empty.
// By default, if this option is not used, the root is DefaultRoot ("/sys").
func WithRoot(root string) Option {
	return optionFunc(func(c *config) { c.root = root })
}
