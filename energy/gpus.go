package energy

import (
	"errors"
	"fmt"
)

// DeviceID names one device of a timeline: its sampler's name and its
// device name ("nvml", "gpu2").
type DeviceID struct {
	Sampler, Device string
}

// String returns "device (sampler)", as warnings name devices.
func (d DeviceID) String() string { return d.Device + " (" + d.Sampler + ")" }

// WithGPUs restricts the GPU figures to the GPUs named: the GPUs of the
// timeline that are not among them are "apart" — listed in
// Report.Devices with their own figures (Device.Apart), added into
// power_avg_w_other_gpus and energy_joules_gpu_other_gpus, and left out of
// every other figure (energy_joules_gpu, the power figures, the sample
// count, the idle baseline, the attribution). A profile gives the GPUs its
// engine runs on. A name that matches no GPU of the timeline is reported
// in a warning. By default, if this option is not used, every GPU of the
// timeline counts. The list must not be empty; a repeat replaces the
// earlier list.
func WithGPUs(gpus ...DeviceID) Option {
	gpus = append([]DeviceID(nil), gpus...)
	return optionFunc(func(c *config) { c.gpus, c.gpusSet = gpus, true })
}

func (c *config) validateGPUs() error {
	if !c.gpusSet {
		return nil
	}
	if len(c.gpus) == 0 {
		return errors.New("energy: WithGPUs: no GPU named (leave the option out to count every GPU)")
	}
	for _, g := range c.gpus {
		if g.Device == "" {
			return fmt.Errorf("energy: WithGPUs: a GPU of sampler %q has no device name", g.Sampler)
		}
	}
	return nil
}

// apart reports whether a device of kind GPU named id is left out of the
// GPU figures by WithGPUs.
func (c *config) apart(id DeviceID) bool {
	if !c.gpusSet {
		return false
	}
	for _, g := range c.gpus {
		if g == id {
			return false
		}
	}
	return true
}
