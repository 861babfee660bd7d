//go:build linux && cgo

package nvml

// The package's NVML binding, and its only cgo. It loads the library with
// dlopen at Init and looks up each function it uses with dlsym, newest
// version first; a function the library lacks stays NULL, and calling it
// answers ERROR_FUNCTION_NOT_FOUND instead of ending the process. The
// types are declared below from NVML's documented ABI, so no NVML header
// (and none of its deprecation attributes) is compiled: building this
// package prints no warning with the C compiler's default flags, nor with
// -Wall -Wextra -Wpedantic.

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// NVML's ABI, as its documentation (nvml.h) defines it.
typedef int bp_ret;                     // nvmlReturn_t
typedef struct bp_device_st *bp_device; // nvmlDevice_t, opaque

enum { BP_ERROR_FUNCTION_NOT_FOUND = 13 };

typedef struct { // nvmlFieldValue_t
	unsigned int fieldId;
	unsigned int scopeId;
	long long timestamp;
	long long latencyUsec;
	int valueType;
	bp_ret ret;
	union { double d; unsigned long long ull; } value; // nvmlValue_t
} bp_field_value;

typedef struct { unsigned int gpu, memory; } bp_utilization;        // nvmlUtilization_t
typedef struct { unsigned long long total, free, used; } bp_memory; // nvmlMemory_t

typedef struct { // nvmlPciInfo_t
	char busIdLegacy[16];
	unsigned int domain, bus, device, pciDeviceId, pciSubSystemId;
	char busId[32];
} bp_pci_info;

// Results with an out-value come back by value, so that Go passes no
// pointer (which would make the value escape to the heap on every call).
typedef struct { bp_ret ret; unsigned int v; } bp_uint_result;
typedef struct { bp_ret ret; int v; } bp_int_result;
typedef struct { bp_ret ret; unsigned long long v; } bp_u64_result;
typedef struct { bp_ret ret; bp_device v; } bp_device_result;
typedef struct { bp_ret ret; bp_utilization v; } bp_utilization_result;
typedef struct { bp_ret ret; bp_memory v; } bp_memory_result;

// bp_open is dlopen, with dlerror's text copied to err on failure (in the
// same call, so on the same thread).
static void *bp_open(const char *path, char *err, size_t n) {
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		const char *e = dlerror();
		snprintf(err, n, "%s", e != NULL ? e : "dlopen failed");
	}
	return h;
}

// bp_fn is any NVML function, as found by bp_sym: NULL when the library
// lacks it.
typedef void (*bp_fn)(void);

static bp_fn bp_sym(void *h, const char *name) {
	void *p = dlsym(h, name);
	bp_fn f;
	memcpy(&f, &p, sizeof f); // POSIX: dlsym returns a function's address
	return f;
}

// The calls, one per C signature.

static bp_ret bp_call(bp_fn fn) {
	if (fn == NULL) return BP_ERROR_FUNCTION_NOT_FOUND;
	return ((bp_ret (*)(void))fn)();
}

static bp_ret bp_string(bp_fn fn, char *buf, unsigned int n) {
	if (fn == NULL) return BP_ERROR_FUNCTION_NOT_FOUND;
	return ((bp_ret (*)(char *, unsigned int))fn)(buf, n);
}

static bp_int_result bp_int(bp_fn fn) {
	bp_int_result r = {BP_ERROR_FUNCTION_NOT_FOUND, 0};
	if (fn != NULL) r.ret = ((bp_ret (*)(int *))fn)(&r.v);
	return r;
}

static bp_uint_result bp_uint(bp_fn fn) {
	bp_uint_result r = {BP_ERROR_FUNCTION_NOT_FOUND, 0};
	if (fn != NULL) r.ret = ((bp_ret (*)(unsigned int *))fn)(&r.v);
	return r;
}

static bp_device_result bp_handle(bp_fn fn, unsigned int index) {
	bp_device_result r = {BP_ERROR_FUNCTION_NOT_FOUND, NULL};
	if (fn != NULL) r.ret = ((bp_ret (*)(unsigned int, bp_device *))fn)(index, &r.v);
	return r;
}

static bp_ret bp_dev_string(bp_fn fn, bp_device d, char *buf, unsigned int n) {
	if (fn == NULL) return BP_ERROR_FUNCTION_NOT_FOUND;
	return ((bp_ret (*)(bp_device, char *, unsigned int))fn)(d, buf, n);
}

static bp_ret bp_dev_pci(bp_fn fn, bp_device d, bp_pci_info *p) {
	if (fn == NULL) return BP_ERROR_FUNCTION_NOT_FOUND;
	return ((bp_ret (*)(bp_device, bp_pci_info *))fn)(d, p);
}

static bp_ret bp_dev_fields(bp_fn fn, bp_device d, int n, bp_field_value *v) {
	if (fn == NULL) return BP_ERROR_FUNCTION_NOT_FOUND;
	return ((bp_ret (*)(bp_device, int, bp_field_value *))fn)(d, n, v);
}

static bp_uint_result bp_dev_uint(bp_fn fn, bp_device d) {
	bp_uint_result r = {BP_ERROR_FUNCTION_NOT_FOUND, 0};
	if (fn != NULL) r.ret = ((bp_ret (*)(bp_device, unsigned int *))fn)(d, &r.v);
	return r;
}

static bp_uint_result bp_dev_uint_of(bp_fn fn, bp_device d, int which) {
	bp_uint_result r = {BP_ERROR_FUNCTION_NOT_FOUND, 0};
	if (fn != NULL) r.ret = ((bp_ret (*)(bp_device, int, unsigned int *))fn)(d, which, &r.v);
	return r;
}

static bp_u64_result bp_dev_u64(bp_fn fn, bp_device d) {
	bp_u64_result r = {BP_ERROR_FUNCTION_NOT_FOUND, 0};
	if (fn != NULL) r.ret = ((bp_ret (*)(bp_device, unsigned long long *))fn)(d, &r.v);
	return r;
}

static bp_utilization_result bp_dev_utilization(bp_fn fn, bp_device d) {
	bp_utilization_result r = {BP_ERROR_FUNCTION_NOT_FOUND, {0, 0}};
	if (fn != NULL) r.ret = ((bp_ret (*)(bp_device, bp_utilization *))fn)(d, &r.v);
	return r;
}

static bp_memory_result bp_dev_memory(bp_fn fn, bp_device d) {
	bp_memory_result r = {BP_ERROR_FUNCTION_NOT_FOUND, {0, 0, 0}};
	if (fn != NULL) r.ret = ((bp_ret (*)(bp_device, bp_memory *))fn)(d, &r.v);
	return r;
}

// bp_dev_processes calls a Get…RunningProcesses function with room for
// capacity entries in infos; v is the count NVML returned.
static bp_uint_result bp_dev_processes(bp_fn fn, bp_device d, unsigned int capacity, void *infos) {
	bp_uint_result r = {BP_ERROR_FUNCTION_NOT_FOUND, capacity};
	if (fn != NULL) r.ret = ((bp_ret (*)(bp_device, unsigned int *, void *))fn)(d, &r.v, infos);
	return r;
}
*/
import "C"

import (
	"encoding/binary"
	"slices"
	"unsafe"
)

// Device.FieldValues passes a []FieldValue to NVML as it is: FieldValue
// must have nvmlFieldValue_t's layout, or these do not compile.
var (
	_ [0]struct{} = [unsafe.Sizeof(FieldValue{}) - unsafe.Sizeof(C.bp_field_value{})]struct{}{}
	_ [0]struct{} = [unsafe.Sizeof(C.bp_field_value{}) - unsafe.Sizeof(FieldValue{})]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(FieldValue{}.Timestamp) - unsafe.Offsetof(C.bp_field_value{}.timestamp)]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(FieldValue{}.ValueType) - unsafe.Offsetof(C.bp_field_value{}.valueType)]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(FieldValue{}.Return) - unsafe.Offsetof(C.bp_field_value{}.ret)]struct{}{}
	_ [0]struct{} = [unsafe.Offsetof(FieldValue{}.Value) - unsafe.Offsetof(C.bp_field_value{}.value)]struct{}{}
)

// dlLibrary is the Library that Open uses by default: NVML loaded from path.
//
// The library stays loaded after Shutdown, for the life of the process:
// NVML is not made to be unloaded, and a later Open loads the same copy
// again (dlopen counts references).
type dlLibrary struct {
	path    string
	loadErr string // dlerror's text when dlopen failed
	fn      dlFuncs
}

// dlFuncs holds what dlsym found, nil for a function the library lacks.
// Written by Init, read-only afterwards.
type dlFuncs struct {
	init, shutdown, driverVersion, cudaVersion, deviceCount, handleByIndex C.bp_fn

	uuid, name, pciInfo, serial, vbios C.bp_fn

	fieldValues, powerUsage, totalEnergy, utilization, memory, clockInfo,
	temperature, eventReasons, throttleReasons C.bp_fn

	compute, graphics             C.bp_fn
	computeLayout, graphicsLayout int // the entry size their version declares
}

var _ Library = (*dlLibrary)(nil)

// Binding returns the package's own binding to the NVML library at path
// (DefaultLibraryPath when path is empty), the Library that Open uses by
// default. Nothing is loaded until its Init. It is exported so that a
// caller can wrap it — to time or count NVML calls, say — and sample
// through the wrapper with WithInterface; the caller then keeps Library's
// contract (Init first, Shutdown last). Its Init answers
// ERROR_LIBRARY_NOT_FOUND when the library cannot be loaded.
func Binding(path string) Library {
	if path == "" {
		path = DefaultLibraryPath
	}
	return &dlLibrary{path: path}
}

// Init loads the library, looks up its functions and calls nvmlInit_v2. A
// library that cannot be loaded is ERROR_LIBRARY_NOT_FOUND (dlerror's text
// is kept for the error message); one without nvmlInit_v2 is
// ERROR_FUNCTION_NOT_FOUND.
func (l *dlLibrary) Init() Return {
	path := C.CString(l.path)
	defer C.free(unsafe.Pointer(path))
	var msg [512]C.char
	h := C.bp_open(path, &msg[0], C.size_t(len(msg)))
	if h == nil {
		l.loadErr = C.GoString(&msg[0])
		return ERROR_LIBRARY_NOT_FOUND
	}
	l.fn.resolve(h)
	return Return(C.bp_call(l.fn.init))
}

// resolve looks up every function the package calls. Where NVML has
// several versions of a function, the newest of those whose ABI this
// binding declares comes first; for the CUDA version, the plain
// nvmlSystemGetCudaDriverVersion, which the sampler has always reported,
// comes before _v2.
func (f *dlFuncs) resolve(h unsafe.Pointer) {
	for _, s := range []struct {
		dst   *C.bp_fn
		names []string
	}{
		{&f.init, []string{"nvmlInit_v2"}},
		{&f.shutdown, []string{"nvmlShutdown"}},
		{&f.driverVersion, []string{"nvmlSystemGetDriverVersion"}},
		{&f.cudaVersion, []string{"nvmlSystemGetCudaDriverVersion", "nvmlSystemGetCudaDriverVersion_v2"}},
		{&f.deviceCount, []string{"nvmlDeviceGetCount_v2"}},
		{&f.handleByIndex, []string{"nvmlDeviceGetHandleByIndex_v2"}},
		{&f.uuid, []string{"nvmlDeviceGetUUID"}},
		{&f.name, []string{"nvmlDeviceGetName"}},
		{&f.pciInfo, []string{"nvmlDeviceGetPciInfo_v3", "nvmlDeviceGetPciInfo_v2"}},
		{&f.serial, []string{"nvmlDeviceGetSerial"}},
		{&f.vbios, []string{"nvmlDeviceGetVbiosVersion"}},
		{&f.fieldValues, []string{"nvmlDeviceGetFieldValues"}},
		{&f.powerUsage, []string{"nvmlDeviceGetPowerUsage"}},
		{&f.totalEnergy, []string{"nvmlDeviceGetTotalEnergyConsumption"}},
		{&f.utilization, []string{"nvmlDeviceGetUtilizationRates"}},
		{&f.memory, []string{"nvmlDeviceGetMemoryInfo"}},
		{&f.clockInfo, []string{"nvmlDeviceGetClockInfo"}},
		{&f.temperature, []string{"nvmlDeviceGetTemperature"}},
		{&f.eventReasons, []string{"nvmlDeviceGetCurrentClocksEventReasons"}},
		{&f.throttleReasons, []string{"nvmlDeviceGetCurrentClocksThrottleReasons"}},
	} {
		for _, name := range s.names {
			if p := dlsym(h, name); p != nil {
				*s.dst = p
				break
			}
		}
	}
	f.compute, f.computeLayout = processFunc(h, "nvmlDeviceGetComputeRunningProcesses")
	f.graphics, f.graphicsLayout = processFunc(h, "nvmlDeviceGetGraphicsRunningProcesses")
}

// processFunc looks up a Get…RunningProcesses function, _v3 first, and
// returns the entry size its version is declared with (see
// processLayouts).
func processFunc(h unsafe.Pointer, name string) (C.bp_fn, int) {
	if p := dlsym(h, name+"_v3"); p != nil {
		return p, 24
	}
	if p := dlsym(h, name+"_v2"); p != nil {
		return p, 24
	}
	return dlsym(h, name), 16
}

func dlsym(h unsafe.Pointer, name string) C.bp_fn {
	s := C.CString(name)
	defer C.free(unsafe.Pointer(s))
	return C.bp_sym(h, s)
}

func (l *dlLibrary) Shutdown() Return { return Return(C.bp_call(l.fn.shutdown)) }

func (l *dlLibrary) DriverVersion() (string, Return) {
	var buf [256]C.char
	if r := Return(C.bp_string(l.fn.driverVersion, &buf[0], C.uint(len(buf)))); r != SUCCESS {
		return "", r
	}
	buf[len(buf)-1] = 0
	return C.GoString(&buf[0]), SUCCESS
}

func (l *dlLibrary) CUDADriverVersion() (int, Return) {
	r := C.bp_int(l.fn.cudaVersion)
	return int(r.v), Return(r.ret)
}

func (l *dlLibrary) DeviceCount() (int, Return) {
	r := C.bp_uint(l.fn.deviceCount)
	return int(r.v), Return(r.ret)
}

func (l *dlLibrary) DeviceByIndex(index int) (Device, Return) {
	if index < 0 || uint64(index) > uint64(^uint32(0)) {
		return nil, ERROR_INVALID_ARGUMENT
	}
	r := C.bp_handle(l.fn.handleByIndex, C.uint(index))
	if ret := Return(r.ret); ret != SUCCESS {
		return nil, ret
	}
	return &dlDevice{fn: &l.fn, h: r.v}, SUCCESS
}

// dlDevice is a GPU handle of a dlLibrary.
type dlDevice struct {
	fn *dlFuncs
	h  C.bp_device
}

var _ Device = (*dlDevice)(nil)

func (d *dlDevice) text(fn C.bp_fn) (string, Return) {
	var buf [256]C.char
	if r := Return(C.bp_dev_string(fn, d.h, &buf[0], C.uint(len(buf)))); r != SUCCESS {
		return "", r
	}
	buf[len(buf)-1] = 0
	return C.GoString(&buf[0]), SUCCESS
}

func (d *dlDevice) UUID() (string, Return)         { return d.text(d.fn.uuid) }
func (d *dlDevice) Name() (string, Return)         { return d.text(d.fn.name) }
func (d *dlDevice) Serial() (string, Return)       { return d.text(d.fn.serial) }
func (d *dlDevice) VBIOSVersion() (string, Return) { return d.text(d.fn.vbios) }

func (d *dlDevice) PCIInfo() (PCIInfo, Return) {
	var p C.bp_pci_info
	if r := Return(C.bp_dev_pci(d.fn.pciInfo, d.h, &p)); r != SUCCESS {
		return PCIInfo{}, r
	}
	p.busId[len(p.busId)-1] = 0
	return PCIInfo{
		BusID:  C.GoString(&p.busId[0]),
		Domain: uint32(p.domain), Bus: uint32(p.bus), Device: uint32(p.device),
		PCIDeviceID: uint32(p.pciDeviceId), PCISubSystemID: uint32(p.pciSubSystemId),
	}, SUCCESS
}

func (d *dlDevice) FieldValues(values []FieldValue) Return {
	if len(values) == 0 || len(values) > 1<<20 {
		return ERROR_INVALID_ARGUMENT
	}
	return Return(C.bp_dev_fields(d.fn.fieldValues, d.h, C.int(len(values)), (*C.bp_field_value)(unsafe.Pointer(&values[0]))))
}

func (d *dlDevice) PowerUsage() (uint32, Return) {
	r := C.bp_dev_uint(d.fn.powerUsage, d.h)
	return uint32(r.v), Return(r.ret)
}

func (d *dlDevice) TotalEnergyConsumption() (uint64, Return) {
	r := C.bp_dev_u64(d.fn.totalEnergy, d.h)
	return uint64(r.v), Return(r.ret)
}

func (d *dlDevice) UtilizationRates() (Utilization, Return) {
	r := C.bp_dev_utilization(d.fn.utilization, d.h)
	return Utilization{GPU: uint32(r.v.gpu), Memory: uint32(r.v.memory)}, Return(r.ret)
}

func (d *dlDevice) MemoryInfo() (Memory, Return) {
	r := C.bp_dev_memory(d.fn.memory, d.h)
	return Memory{Total: uint64(r.v.total), Free: uint64(r.v.free), Used: uint64(r.v.used)}, Return(r.ret)
}

func (d *dlDevice) ClockInfo(clock ClockType) (uint32, Return) {
	r := C.bp_dev_uint_of(d.fn.clockInfo, d.h, C.int(clock))
	return uint32(r.v), Return(r.ret)
}

func (d *dlDevice) Temperature(sensor TemperatureSensor) (uint32, Return) {
	r := C.bp_dev_uint_of(d.fn.temperature, d.h, C.int(sensor))
	return uint32(r.v), Return(r.ret)
}

func (d *dlDevice) ClocksEventReasons() (uint64, Return) {
	r := C.bp_dev_u64(d.fn.eventReasons, d.h)
	return uint64(r.v), Return(r.ret)
}

func (d *dlDevice) ClocksThrottleReasons() (uint64, Return) {
	r := C.bp_dev_u64(d.fn.throttleReasons, d.h)
	return uint64(r.v), Return(r.ret)
}

func (d *dlDevice) ComputeRunningProcesses() ([]ProcessInfo, Return) {
	return d.processes(d.fn.compute, d.fn.computeLayout)
}

func (d *dlDevice) GraphicsRunningProcesses() ([]ProcessInfo, Return) {
	return d.processes(d.fn.graphics, d.fn.graphicsLayout)
}

// Process lists. An entry is, as nvml.h declares it, 24 bytes from
// _v2 and _v3 (pid, usedGpuMemory, gpuInstanceId, computeInstanceId) and
// 16 from the first version (pid, usedGpuMemory). But some R535 drivers
// write 32-byte entries from _v3 (a usedGpuCcProtectedMemory appended),
// and a list read with the wrong size is garbage after its first entry.
// So the buffer has room for the largest entry, is filled with a pattern
// no field can hold, and the entry size is the one under which every
// entry's last always-written field was written, every PID is a Linux PID,
// and nothing after the last entry was written.
const (
	procMaxEntry  = 32
	procFirstCap  = 16
	procMaxCap    = 1 << 16 // entries: bounds what a bogus count can make us allocate
	procTries     = 4       // processes may start between a size query and the read
	procUnwritten = 0xa5a5a5a5a5a5a5a5
	maxPID        = 1 << 22 // Linux's PID_MAX_LIMIT
)

// processLayouts lists the entry sizes to try, the one the function's
// version declares first.
func processLayouts(declared int) []int {
	if declared == 16 {
		return []int{16, 24, 32}
	}
	return []int{24, 32, 16}
}

func (d *dlDevice) processes(fn C.bp_fn, declared int) ([]ProcessInfo, Return) {
	if fn == nil {
		return nil, ERROR_FUNCTION_NOT_FOUND
	}
	capacity := procFirstCap
	for try := 1; ; try++ {
		// One word more than capacity entries, to see that NVML wrote
		// nothing past the last one.
		buf := make([]uint64, capacity*procMaxEntry/8+1)
		for i := range buf {
			buf[i] = procUnwritten
		}
		r := C.bp_dev_processes(fn, d.h, C.uint(capacity), unsafe.Pointer(&buf[0]))
		ret, n := Return(r.ret), int(r.v)
		switch {
		case ret == ERROR_INSUFFICIENT_SIZE && try < procTries && n > capacity && n <= procMaxCap:
			capacity = min(n+n/4+4, procMaxCap)
			continue
		case ret != SUCCESS:
			return nil, ret
		case n > capacity:
			return nil, ERROR_UNKNOWN
		}
		b := unsafe.Slice((*byte)(unsafe.Pointer(&buf[0])), len(buf)*8)
		for _, size := range processLayouts(declared) {
			if out, ok := decodeProcesses(b, n, size); ok {
				return out, SUCCESS
			}
		}
		return nil, ERROR_ARGUMENT_VERSION_MISMATCH
	}
}

// decodeProcesses reads n entries of size bytes from b, if that size fits
// what NVML wrote: in every entry the PID is one and the last field that
// all versions write (usedGpuMemory for 16 bytes, the instance ids
// otherwise) was written, and the word after the last entry was not.
func decodeProcesses(b []byte, n, size int) ([]ProcessInfo, bool) {
	written := func(off int) bool { return binary.NativeEndian.Uint64(b[off:]) != procUnwritten }
	last := 8 // offset of the field checked
	if size > 16 {
		last = 16
	}
	if n > 0 && written(n*size) {
		return nil, false
	}
	out := make([]ProcessInfo, 0, n)
	for i := range n {
		e := b[i*size:]
		if !written(i*size + last) {
			return nil, false
		}
		pid := binary.NativeEndian.Uint32(e)
		if pid == 0 || pid > maxPID {
			return nil, false
		}
		p := ProcessInfo{
			PID:               pid,
			UsedGPUMemory:     binary.NativeEndian.Uint64(e[8:]),
			GPUInstanceID:     NoInstance,
			ComputeInstanceID: NoInstance,
		}
		if size > 16 {
			p.GPUInstanceID = binary.NativeEndian.Uint32(e[16:])
			p.ComputeInstanceID = binary.NativeEndian.Uint32(e[20:])
		}
		out = append(out, p)
	}
	return slices.Clip(out), true
}
