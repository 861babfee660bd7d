/*
 * fakenvml.c: a fake libnvidia-ml.so.1 for testing sampler/nvml's real cgo
 * path on machines without a GPU.
 *
 * It implements, with the ABI of nvml.h, the NVML entry points that
 * sampler/nvml's binding looks up: init and shutdown, device count and
 * handles, field values (FI_DEV_POWER_INSTANT, FI_DEV_TOTAL_ENERGY_CONSUMPTION),
 * power usage, total energy, utilization, memory, clocks, temperature,
 * clock-event and throttle reasons, name, PCI info, serial, VBIOS, UUID,
 * index, driver and CUDA versions, the running compute and graphics
 * processes (versions 1 to 3), and the error string.
 *
 * Build:  gcc -shared -fPIC -O2 -o libnvidia-ml.so.1 fakenvml.c -lm
 * Leave symbols out, as an old driver would, with -DFAKENVML_NO_EVENT_REASONS
 * (no nvmlDeviceGetCurrentClocksEventReasons), -DFAKENVML_NO_FIELD_VALUES
 * (no nvmlDeviceGetFieldValues) and -DFAKENVML_NO_TOTAL_ENERGY (no
 * nvmlDeviceGetTotalEnergyConsumption). -DFAKENVML_NO_PROCESSES_V3 leaves out
 * the _v3 process lists, -DFAKENVML_NO_PROCESSES_V2 the _v2 ones, and
 * -DFAKENVML_NO_PROCESSES all of them.
 *
 * Configuration: environment variables, read by nvmlInit when the library is
 * not initialized, so a process can change them between Init/Shutdown pairs.
 *
 *   FAKENVML_GPUS             number of GPUs (default 1, at most 64)
 *   FAKENVML_LATENCY_US       time every device call takes, in µs (default 0)
 *   FAKENVML_LATENCY_SPIN     1: burn CPU for the latency instead of sleeping
 *   FAKENVML_POWER            the true power of every GPU: a cycle of
 *                             "watts:milliseconds" segments repeated from the
 *                             epoch, e.g. "100:50,300:50" is a 10 Hz square
 *                             wave between 100 W and 300 W (default "100:1000")
 *   FAKENVML_GPU_STEP_W       GPU i draws i times this many watts more (default 0)
 *   FAKENVML_EPOCH_UNIX_NS    the trace's time origin, as Unix nanoseconds on
 *                             CLOCK_REALTIME (default: the time of nvmlInit)
 *   FAKENVML_SENSOR_PERIOD_US the power sensor's update period (default 20000);
 *                             power readings hold the value of the last update,
 *                             plus 1 mW on odd updates so that every update
 *                             changes the value; 0: continuous, instantaneous
 *   FAKENVML_ENERGY_OFFSET_MJ the energy counter at the epoch (default 1e9 mJ)
 *   FAKENVML_ENERGY_RESET_MS  at this time after the epoch the energy counter
 *                             restarts from 0, as after a driver reload
 *   FAKENVML_UNSUPPORTED      comma-separated features that return
 *                             NVML_ERROR_NOT_SUPPORTED; "name@i" limits one
 *                             to GPU i. Features: handle, field_values,
 *                             power_instant, energy_field, power_usage,
 *                             total_energy, utilization, memory, clock_sm,
 *                             clock_mem, temperature, event_reasons,
 *                             throttle_reasons, name, pci, serial, vbios,
 *                             uuid, driver, cuda, compute_procs, graphics_procs
 *   FAKENVML_FAIL             the same syntax; these return FAKENVML_FAIL_RETURN
 *                             (default 999, NVML_ERROR_UNKNOWN)
 *   FAKENVML_HANG             the same syntax; these calls never return (a
 *                             GPU fallen off the bus), once
 *                             FAKENVML_HANG_AFTER_MS have passed since nvmlInit
 *                             (default 0)
 *   FAKENVML_INIT_RETURN      nvmlInit returns this code (default 0, success)
 *   FAKENVML_DRIVER           driver version (default "550.54.15")
 *   FAKENVML_CUDA             CUDA driver version (default 12040)
 *   FAKENVML_CALL_LOG         a file to which every call appends its name
 *   FAKENVML_PROCS            running processes, comma-separated
 *                             "gpu:pid:kinds[:MiB]": kinds is c (compute),
 *                             g (graphics) or cg; without MiB the used memory
 *                             is NVML_VALUE_NOT_AVAILABLE (at most 256)
 *   FAKENVML_PROCESS_STRIDE   the entry size the _v3 process lists write:
 *                             24 (default, nvmlProcessInfo_t) or 32 (as some
 *                             R535 drivers do, usedGpuCcProtectedMemory
 *                             appended); _v2 writes 24 and version 1 16
 *
 * Semantics, so that tests can compare against the truth:
 *   - the energy counter (field 83 and nvmlDeviceGetTotalEnergyConsumption)
 *     is the exact integral of the true power over real time since the epoch,
 *     in mJ, plus FAKENVML_ENERGY_OFFSET_MJ, read at the time of the call;
 *   - FI_DEV_POWER_INSTANT is the average of the true power over the sensor
 *     period that ended at the last sensor update (so the power trace holds
 *     the energy, one sensor period late);
 *   - nvmlDeviceGetPowerUsage is the average of the true power over the
 *     second before the last sensor update, as NVML documents for Ampere and
 *     later;
 *   - utilization is the true power's position between the trace's minimum
 *     and maximum, in percent; clock-event reasons report GPU idle (bit 0)
 *     while utilization is below 50 %.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- the ABI, as in nvml.h ---- */

typedef int nvmlReturn_t;
enum {
	NVML_SUCCESS = 0,
	NVML_ERROR_UNINITIALIZED = 1,
	NVML_ERROR_INVALID_ARGUMENT = 2,
	NVML_ERROR_NOT_SUPPORTED = 3,
	NVML_ERROR_NO_PERMISSION = 4,
	NVML_ERROR_NOT_FOUND = 6,
	NVML_ERROR_INSUFFICIENT_SIZE = 7,
	NVML_ERROR_DRIVER_NOT_LOADED = 9,
	NVML_ERROR_LIBRARY_NOT_FOUND = 12,
	NVML_ERROR_GPU_IS_LOST = 15,
	NVML_ERROR_UNKNOWN = 999,
};

typedef struct nvmlDevice_st {
	unsigned index;
} *nvmlDevice_t;

typedef union {
	double dVal;
	int siVal;
	unsigned int uiVal;
	unsigned long ulVal;
	unsigned long long ullVal;
	signed long long sllVal;
	unsigned short usVal;
} nvmlValue_t;

typedef struct {
	unsigned int fieldId;
	unsigned int scopeId;
	long long timestamp;
	long long latencyUsec;
	int valueType;
	nvmlReturn_t nvmlReturn;
	nvmlValue_t value;
} nvmlFieldValue_t;

typedef struct {
	unsigned int gpu;
	unsigned int memory;
} nvmlUtilization_t;

typedef struct {
	unsigned long long total;
	unsigned long long free;
	unsigned long long used;
} nvmlMemory_t;

typedef struct {
	char busIdLegacy[16];
	unsigned int domain;
	unsigned int bus;
	unsigned int device;
	unsigned int pciDeviceId;
	unsigned int pciSubSystemId;
	char busId[32];
} nvmlPciInfo_t;

#define FI_DEV_TOTAL_ENERGY_CONSUMPTION 83
#define FI_DEV_POWER_INSTANT 186
#define VALUE_TYPE_UNSIGNED_INT 1
#define VALUE_TYPE_UNSIGNED_LONG_LONG 3
#define CLOCK_SM 1
#define CLOCK_MEM 2
#define TEMPERATURE_GPU 0

/* ---- configuration ---- */

#define MAX_GPUS 64
#define MAX_SEGS 64
#define MAX_PROCS 256
#define VALUE_NOT_AVAILABLE (~0ULL)
#define NO_INSTANCE (~0U)

struct proc {
	unsigned gpu, pid;
	int compute, graphics;
	unsigned long long mem;
};

enum feature {
	F_HANDLE, F_FIELD_VALUES, F_POWER_INSTANT, F_ENERGY_FIELD, F_POWER_USAGE,
	F_TOTAL_ENERGY, F_UTILIZATION, F_MEMORY, F_CLOCK_SM, F_CLOCK_MEM,
	F_TEMPERATURE, F_EVENT_REASONS, F_THROTTLE_REASONS, F_NAME, F_PCI,
	F_SERIAL, F_VBIOS, F_UUID, F_DRIVER, F_CUDA, F_COMPUTE_PROCS,
	F_GRAPHICS_PROCS, F_COUNT
};

static const char *feature_names[F_COUNT] = {
	"handle", "field_values", "power_instant", "energy_field", "power_usage",
	"total_energy", "utilization", "memory", "clock_sm", "clock_mem",
	"temperature", "event_reasons", "throttle_reasons", "name", "pci",
	"serial", "vbios", "uuid", "driver", "cuda", "compute_procs",
	"graphics_procs",
};

static struct {
	unsigned gpus;
	long long latency_ns;
	int spin;
	double seg_w[MAX_SEGS];
	long long seg_ns[MAX_SEGS];
	int nsegs;
	long long cycle_ns;
	double cycle_mj;
	double pmin, pmax;
	double step_w;
	long long epoch_ns; /* CLOCK_REALTIME */
	long long sensor_ns;
	unsigned long long offset_mj;
	long long reset_ns; /* < 0: never */
	uint32_t unsupported[MAX_GPUS];
	uint32_t failing[MAX_GPUS];
	uint32_t hanging[MAX_GPUS];
	long long hang_at_ns; /* CLOCK_MONOTONIC */
	nvmlReturn_t fail_return;
	nvmlReturn_t init_return;
	char driver[80];
	int cuda;
	struct proc procs[MAX_PROCS];
	int nprocs;
	size_t proc_stride;
} cfg;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_int refcount;
static atomic_int log_fd = -1;
static struct nvmlDevice_st devs[MAX_GPUS];

static long long env_ll(const char *name, long long def)
{
	const char *v = getenv(name);
	if (v == NULL || *v == '\0')
		return def;
	return strtoll(v, NULL, 10);
}

static long long realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void parse_features(const char *name, uint32_t *masks)
{
	memset(masks, 0, sizeof(uint32_t) * MAX_GPUS);
	const char *v = getenv(name);
	if (v == NULL)
		return;
	char buf[1024];
	snprintf(buf, sizeof buf, "%s", v);
	char *save = NULL;
	for (char *tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		int gpu = -1;
		char *at = strchr(tok, '@');
		if (at != NULL) {
			*at = '\0';
			gpu = atoi(at + 1);
		}
		for (int f = 0; f < F_COUNT; f++) {
			if (strcmp(tok, feature_names[f]) != 0)
				continue;
			for (int i = 0; i < MAX_GPUS; i++)
				if (gpu < 0 || gpu == i)
					masks[i] |= 1u << f;
		}
	}
}

static void parse_power(void)
{
	const char *v = getenv("FAKENVML_POWER");
	char buf[1024];
	snprintf(buf, sizeof buf, "%s", (v != NULL && *v != '\0') ? v : "100:1000");
	cfg.nsegs = 0;
	cfg.cycle_ns = 0;
	cfg.cycle_mj = 0;
	char *save = NULL;
	for (char *tok = strtok_r(buf, ",", &save); tok != NULL && cfg.nsegs < MAX_SEGS;
	     tok = strtok_r(NULL, ",", &save)) {
		double w = 0, ms = 0;
		if (sscanf(tok, "%lf:%lf", &w, &ms) != 2 || ms <= 0)
			continue;
		long long ns = (long long)llround(ms * 1e6);
		cfg.seg_w[cfg.nsegs] = w;
		cfg.seg_ns[cfg.nsegs] = ns;
		cfg.cycle_ns += ns;
		cfg.cycle_mj += w * (double)ns / 1e6;
		if (cfg.nsegs == 0 || w < cfg.pmin)
			cfg.pmin = w;
		if (cfg.nsegs == 0 || w > cfg.pmax)
			cfg.pmax = w;
		cfg.nsegs++;
	}
	if (cfg.nsegs == 0) {
		cfg.seg_w[0] = 100;
		cfg.seg_ns[0] = 1000000000LL;
		cfg.cycle_ns = cfg.seg_ns[0];
		cfg.cycle_mj = 100 * 1e3;
		cfg.pmin = cfg.pmax = 100;
		cfg.nsegs = 1;
	}
}

static void parse_procs(void)
{
	cfg.nprocs = 0;
	const char *v = getenv("FAKENVML_PROCS");
	if (v == NULL)
		return;
	char buf[8192];
	snprintf(buf, sizeof buf, "%s", v);
	char *save = NULL;
	for (char *tok = strtok_r(buf, ",", &save); tok != NULL && cfg.nprocs < MAX_PROCS;
	     tok = strtok_r(NULL, ",", &save)) {
		unsigned gpu, pid;
		char kinds[4] = "";
		unsigned long long mib = 0;
		int n = sscanf(tok, "%u:%u:%3[cg]:%llu", &gpu, &pid, kinds, &mib);
		if (n < 3)
			continue;
		struct proc *p = &cfg.procs[cfg.nprocs++];
		p->gpu = gpu;
		p->pid = pid;
		p->compute = strchr(kinds, 'c') != NULL;
		p->graphics = strchr(kinds, 'g') != NULL;
		p->mem = n == 4 ? mib << 20 : VALUE_NOT_AVAILABLE;
	}
}

static void configure(void)
{
	long long n = env_ll("FAKENVML_GPUS", 1);
	cfg.gpus = n < 0 ? 0 : (n > MAX_GPUS ? MAX_GPUS : (unsigned)n);
	cfg.latency_ns = env_ll("FAKENVML_LATENCY_US", 0) * 1000;
	cfg.spin = env_ll("FAKENVML_LATENCY_SPIN", 0) != 0;
	parse_power();
	const char *step = getenv("FAKENVML_GPU_STEP_W");
	cfg.step_w = (step != NULL && *step != '\0') ? atof(step) : 0;
	cfg.epoch_ns = env_ll("FAKENVML_EPOCH_UNIX_NS", realtime_ns());
	cfg.sensor_ns = env_ll("FAKENVML_SENSOR_PERIOD_US", 20000) * 1000;
	cfg.offset_mj = (unsigned long long)env_ll("FAKENVML_ENERGY_OFFSET_MJ", 1000000000LL);
	cfg.reset_ns = env_ll("FAKENVML_ENERGY_RESET_MS", -1);
	if (cfg.reset_ns >= 0)
		cfg.reset_ns *= 1000000LL;
	parse_features("FAKENVML_UNSUPPORTED", cfg.unsupported);
	parse_features("FAKENVML_FAIL", cfg.failing);
	parse_features("FAKENVML_HANG", cfg.hanging);
	struct timespec mono;
	clock_gettime(CLOCK_MONOTONIC, &mono);
	cfg.hang_at_ns = (long long)mono.tv_sec * 1000000000LL + mono.tv_nsec + env_ll("FAKENVML_HANG_AFTER_MS", 0) * 1000000LL;
	cfg.fail_return = (nvmlReturn_t)env_ll("FAKENVML_FAIL_RETURN", NVML_ERROR_UNKNOWN);
	cfg.init_return = (nvmlReturn_t)env_ll("FAKENVML_INIT_RETURN", NVML_SUCCESS);
	const char *drv = getenv("FAKENVML_DRIVER");
	snprintf(cfg.driver, sizeof cfg.driver, "%s", (drv != NULL && *drv != '\0') ? drv : "550.54.15");
	cfg.cuda = (int)env_ll("FAKENVML_CUDA", 12040);
	parse_procs();
	cfg.proc_stride = (size_t)env_ll("FAKENVML_PROCESS_STRIDE", 24);
	for (unsigned i = 0; i < MAX_GPUS; i++)
		devs[i].index = i;

	int old = atomic_exchange(&log_fd, -1);
	if (old >= 0)
		close(old);
	const char *log = getenv("FAKENVML_CALL_LOG");
	if (log != NULL && *log != '\0')
		atomic_store(&log_fd, open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
}

/* ---- helpers ---- */

static void logcall(const char *name)
{
	int fd = atomic_load(&log_fd);
	if (fd < 0)
		return;
	char line[128];
	int n = snprintf(line, sizeof line, "%s\n", name);
	if (write(fd, line, (size_t)n) < 0) {
		/* nothing to do: the log is best effort */
	}
}

static void delay(void)
{
	if (cfg.latency_ns <= 0)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	long long deadline = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec + cfg.latency_ns;
	if (cfg.spin) {
		do {
			clock_gettime(CLOCK_MONOTONIC, &ts);
		} while ((long long)ts.tv_sec * 1000000000LL + ts.tv_nsec < deadline);
		return;
	}
	ts.tv_sec = deadline / 1000000000LL;
	ts.tv_nsec = deadline % 1000000000LL;
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0) {
	}
}

#define ENTER(name)                                  \
	do {                                         \
		logcall(name);                       \
		if (atomic_load(&refcount) <= 0)     \
			return NVML_ERROR_UNINITIALIZED; \
	} while (0)

/* dev checks the handle, applies the latency and returns the GPU index. */
#define DEVICE(name, handle, out)                                       \
	ENTER(name);                                                    \
	if ((handle) < &devs[0] || (handle) >= &devs[cfg.gpus])         \
		return NVML_ERROR_INVALID_ARGUMENT;                     \
	delay();                                                        \
	unsigned out = (handle)->index

/* hang never returns once a hanging call is due to hang. */
static void hang(unsigned gpu, enum feature f)
{
	if (gpu >= MAX_GPUS || !(cfg.hanging[gpu] & (1u << f)))
		return;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if ((long long)ts.tv_sec * 1000000000LL + ts.tv_nsec < cfg.hang_at_ns)
		return;
	for (;;)
		sleep(3600);
}

static nvmlReturn_t check(unsigned gpu, enum feature f)
{
	hang(gpu, f);
	if (gpu < MAX_GPUS && (cfg.unsupported[gpu] & (1u << f)))
		return NVML_ERROR_NOT_SUPPORTED;
	if (gpu < MAX_GPUS && (cfg.failing[gpu] & (1u << f)))
		return cfg.fail_return;
	return NVML_SUCCESS;
}

static long long now_ns(void)
{
	long long t = realtime_ns() - cfg.epoch_ns;
	return t < 0 ? 0 : t;
}

static double power_at(unsigned gpu, long long t)
{
	long long pos = t % cfg.cycle_ns;
	double w = cfg.seg_w[cfg.nsegs - 1];
	for (int i = 0; i < cfg.nsegs; i++) {
		if (pos < cfg.seg_ns[i]) {
			w = cfg.seg_w[i];
			break;
		}
		pos -= cfg.seg_ns[i];
	}
	return w + cfg.step_w * gpu;
}

/* energy_mj is the exact integral of power_at over [0, t], in mJ. */
static double energy_mj(unsigned gpu, long long t)
{
	long long cycles = t / cfg.cycle_ns;
	long long pos = t % cfg.cycle_ns;
	double e = (double)cycles * cfg.cycle_mj;
	for (int i = 0; i < cfg.nsegs && pos > 0; i++) {
		long long d = pos < cfg.seg_ns[i] ? pos : cfg.seg_ns[i];
		e += cfg.seg_w[i] * (double)d / 1e6;
		pos -= d;
	}
	return e + cfg.step_w * gpu * (double)t / 1e6;
}

static unsigned long long counter_mj(unsigned gpu)
{
	long long t = now_ns();
	if (cfg.reset_ns >= 0 && t >= cfg.reset_ns)
		return (unsigned long long)floor(energy_mj(gpu, t) - energy_mj(gpu, cfg.reset_ns));
	return cfg.offset_mj + (unsigned long long)floor(energy_mj(gpu, t));
}

/* sensor returns the time of the last sensor update and its ripple. */
static long long sensor(long long t, unsigned *ripple)
{
	if (cfg.sensor_ns <= 0) {
		*ripple = 0;
		return t;
	}
	long long k = t / cfg.sensor_ns;
	*ripple = (unsigned)(k & 1);
	return k * cfg.sensor_ns;
}

/* instant_mw is the average of the true power over the last sensor period,
 * as a sensor that integrates over its window reports it. */
static unsigned instant_mw(unsigned gpu)
{
	unsigned ripple;
	long long ts = sensor(now_ns(), &ripple);
	if (cfg.sensor_ns <= 0 || ts < cfg.sensor_ns)
		return (unsigned)llround(power_at(gpu, ts) * 1000) + ripple;
	double mj = energy_mj(gpu, ts) - energy_mj(gpu, ts - cfg.sensor_ns);
	return (unsigned)llround(mj * 1e9 / (double)cfg.sensor_ns) + ripple;
}

static unsigned average_mw(unsigned gpu)
{
	unsigned ripple;
	long long ts = sensor(now_ns(), &ripple);
	if (ts == 0)
		return (unsigned)llround(power_at(gpu, 0) * 1000) + ripple;
	long long from = ts > 1000000000LL ? ts - 1000000000LL : 0;
	double mj = energy_mj(gpu, ts) - energy_mj(gpu, from);
	return (unsigned)llround(mj * 1e9 / (double)(ts - from)) + ripple;
}

static unsigned util_pct(unsigned gpu)
{
	if (cfg.pmax <= cfg.pmin)
		return 50;
	double p = power_at(gpu, now_ns()) - cfg.step_w * gpu;
	return (unsigned)llround(100 * (p - cfg.pmin) / (cfg.pmax - cfg.pmin));
}

static nvmlReturn_t copy_string(char *dst, unsigned length, const char *src)
{
	if (dst == NULL)
		return NVML_ERROR_INVALID_ARGUMENT;
	if (strlen(src) + 1 > length)
		return NVML_ERROR_INSUFFICIENT_SIZE;
	strcpy(dst, src);
	return NVML_SUCCESS;
}

/* ---- initialization ---- */

nvmlReturn_t nvmlInit_v2(void)
{
	pthread_mutex_lock(&mu);
	if (atomic_load(&refcount) == 0)
		configure();
	logcall("nvmlInit_v2");
	if (cfg.init_return != NVML_SUCCESS) {
		pthread_mutex_unlock(&mu);
		return cfg.init_return;
	}
	atomic_fetch_add(&refcount, 1);
	pthread_mutex_unlock(&mu);
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlInit(void) { return nvmlInit_v2(); }

nvmlReturn_t nvmlInitWithFlags(unsigned int flags)
{
	(void)flags;
	return nvmlInit_v2();
}

nvmlReturn_t nvmlShutdown(void)
{
	pthread_mutex_lock(&mu);
	logcall("nvmlShutdown");
	if (atomic_load(&refcount) <= 0) {
		pthread_mutex_unlock(&mu);
		return NVML_ERROR_UNINITIALIZED;
	}
	atomic_fetch_sub(&refcount, 1);
	pthread_mutex_unlock(&mu);
	return NVML_SUCCESS;
}

const char *nvmlErrorString(nvmlReturn_t r)
{
	logcall("nvmlErrorString");
	switch (r) {
	case NVML_SUCCESS: return "Success";
	case NVML_ERROR_UNINITIALIZED: return "Uninitialized";
	case NVML_ERROR_INVALID_ARGUMENT: return "Invalid Argument";
	case NVML_ERROR_NOT_SUPPORTED: return "Not Supported";
	case NVML_ERROR_NO_PERMISSION: return "Insufficient Permissions";
	case NVML_ERROR_NOT_FOUND: return "Not Found";
	case NVML_ERROR_INSUFFICIENT_SIZE: return "Insufficient Size";
	case NVML_ERROR_DRIVER_NOT_LOADED: return "Driver Not Loaded";
	case NVML_ERROR_GPU_IS_LOST: return "GPU is lost";
	default: return "Unknown Error";
	}
}

/* ---- system ---- */

nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length)
{
	ENTER("nvmlSystemGetDriverVersion");
	nvmlReturn_t r = check(0, F_DRIVER);
	if (r != NVML_SUCCESS)
		return r;
	return copy_string(version, length, cfg.driver);
}

nvmlReturn_t nvmlSystemGetCudaDriverVersion(int *v)
{
	ENTER("nvmlSystemGetCudaDriverVersion");
	nvmlReturn_t r = check(0, F_CUDA);
	if (r != NVML_SUCCESS)
		return r;
	if (v == NULL)
		return NVML_ERROR_INVALID_ARGUMENT;
	*v = cfg.cuda;
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlSystemGetCudaDriverVersion_v2(int *v) { return nvmlSystemGetCudaDriverVersion(v); }

/* ---- devices ---- */

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count)
{
	ENTER("nvmlDeviceGetCount_v2");
	if (count == NULL)
		return NVML_ERROR_INVALID_ARGUMENT;
	*count = cfg.gpus;
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetCount(unsigned int *count) { return nvmlDeviceGetCount_v2(count); }

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device)
{
	ENTER("nvmlDeviceGetHandleByIndex_v2");
	if (device == NULL || index >= cfg.gpus)
		return NVML_ERROR_INVALID_ARGUMENT;
	nvmlReturn_t r = check(index, F_HANDLE);
	if (r != NVML_SUCCESS)
		return r;
	*device = &devs[index];
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex(unsigned int index, nvmlDevice_t *device)
{
	return nvmlDeviceGetHandleByIndex_v2(index, device);
}

static void uuid_of(unsigned gpu, char *buf, size_t n)
{
	snprintf(buf, n, "GPU-fa4e0000-0000-4000-8000-%012x", gpu);
}

nvmlReturn_t nvmlDeviceGetHandleByUUID(const char *uuid, nvmlDevice_t *device)
{
	ENTER("nvmlDeviceGetHandleByUUID");
	if (uuid == NULL || device == NULL)
		return NVML_ERROR_INVALID_ARGUMENT;
	for (unsigned i = 0; i < cfg.gpus; i++) {
		char buf[96];
		uuid_of(i, buf, sizeof buf);
		if (strcasecmp(buf, uuid) == 0) {
			*device = &devs[i];
			return NVML_SUCCESS;
		}
	}
	return NVML_ERROR_NOT_FOUND;
}

nvmlReturn_t nvmlDeviceGetIndex(nvmlDevice_t device, unsigned int *index)
{
	DEVICE("nvmlDeviceGetIndex", device, gpu);
	if (index == NULL)
		return NVML_ERROR_INVALID_ARGUMENT;
	*index = gpu;
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid, unsigned int length)
{
	DEVICE("nvmlDeviceGetUUID", device, gpu);
	nvmlReturn_t r = check(gpu, F_UUID);
	if (r != NVML_SUCCESS)
		return r;
	char buf[96];
	uuid_of(gpu, buf, sizeof buf);
	return copy_string(uuid, length, buf);
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length)
{
	DEVICE("nvmlDeviceGetName", device, gpu);
	nvmlReturn_t r = check(gpu, F_NAME);
	if (r != NVML_SUCCESS)
		return r;
	return copy_string(name, length, "Fake NVIDIA H100 80GB HBM3");
}

nvmlReturn_t nvmlDeviceGetSerial(nvmlDevice_t device, char *serial, unsigned int length)
{
	DEVICE("nvmlDeviceGetSerial", device, gpu);
	nvmlReturn_t r = check(gpu, F_SERIAL);
	if (r != NVML_SUCCESS)
		return r;
	char buf[32];
	snprintf(buf, sizeof buf, "FAKE%08u", 1650000 + gpu);
	return copy_string(serial, length, buf);
}

nvmlReturn_t nvmlDeviceGetVbiosVersion(nvmlDevice_t device, char *version, unsigned int length)
{
	DEVICE("nvmlDeviceGetVbiosVersion", device, gpu);
	nvmlReturn_t r = check(gpu, F_VBIOS);
	if (r != NVML_SUCCESS)
		return r;
	char buf[32];
	snprintf(buf, sizeof buf, "96.00.99.00.%02u", gpu);
	return copy_string(version, length, buf);
}

nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t device, nvmlPciInfo_t *pci)
{
	DEVICE("nvmlDeviceGetPciInfo_v3", device, gpu);
	nvmlReturn_t r = check(gpu, F_PCI);
	if (r != NVML_SUCCESS)
		return r;
	if (pci == NULL)
		return NVML_ERROR_INVALID_ARGUMENT;
	memset(pci, 0, sizeof *pci);
	pci->bus = (0x18 + 0x10 * gpu) & 0xff;
	pci->pciDeviceId = 0x233010de;
	pci->pciSubSystemId = 0x16c110de;
	snprintf(pci->busIdLegacy, sizeof pci->busIdLegacy, "0000:%02X:00.0", pci->bus);
	snprintf(pci->busId, sizeof pci->busId, "00000000:%02X:00.0", pci->bus);
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetPciInfo_v2(nvmlDevice_t device, nvmlPciInfo_t *pci) { return nvmlDeviceGetPciInfo_v3(device, pci); }
nvmlReturn_t nvmlDeviceGetPciInfo(nvmlDevice_t device, nvmlPciInfo_t *pci) { return nvmlDeviceGetPciInfo_v3(device, pci); }

#ifndef FAKENVML_NO_FIELD_VALUES
nvmlReturn_t nvmlDeviceGetFieldValues(nvmlDevice_t device, int valuesCount, nvmlFieldValue_t *values)
{
	DEVICE("nvmlDeviceGetFieldValues", device, gpu);
	if (values == NULL || valuesCount <= 0)
		return NVML_ERROR_INVALID_ARGUMENT;
	nvmlReturn_t r = check(gpu, F_FIELD_VALUES);
	if (r != NVML_SUCCESS)
		return r;
	long long stamp = realtime_ns() / 1000;
	for (int i = 0; i < valuesCount; i++) {
		nvmlFieldValue_t *v = &values[i];
		v->timestamp = stamp;
		v->latencyUsec = 0;
		v->value.ullVal = 0;
		switch (v->fieldId) {
		case FI_DEV_POWER_INSTANT:
			v->nvmlReturn = check(gpu, F_POWER_INSTANT);
			v->valueType = VALUE_TYPE_UNSIGNED_INT;
			if (v->nvmlReturn == NVML_SUCCESS)
				v->value.uiVal = instant_mw(gpu);
			break;
		case FI_DEV_TOTAL_ENERGY_CONSUMPTION:
			v->nvmlReturn = check(gpu, F_ENERGY_FIELD);
			v->valueType = VALUE_TYPE_UNSIGNED_LONG_LONG;
			if (v->nvmlReturn == NVML_SUCCESS)
				v->value.ullVal = counter_mj(gpu);
			break;
		default:
			v->nvmlReturn = NVML_ERROR_NOT_SUPPORTED;
		}
	}
	return NVML_SUCCESS;
}
#endif

nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int *power)
{
	DEVICE("nvmlDeviceGetPowerUsage", device, gpu);
	nvmlReturn_t r = check(gpu, F_POWER_USAGE);
	if (r != NVML_SUCCESS)
		return r;
	if (power == NULL)
		return NVML_ERROR_INVALID_ARGUMENT;
	*power = average_mw(gpu);
	return NVML_SUCCESS;
}

#ifndef FAKENVML_NO_TOTAL_ENERGY
nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t device, unsigned long long *energy)
{
	DEVICE("nvmlDeviceGetTotalEnergyConsumption", device, gpu);
	nvmlReturn_t r = check(gpu, F_TOTAL_ENERGY);
	if (r != NVML_SUCCESS)
		return r;
	if (energy == NULL)
		return NVML_ERROR_INVALID_ARGUMENT;
	*energy = counter_mj(gpu);
	return NVML_SUCCESS;
}
#endif

nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device, nvmlUtilization_t *u)
{
	DEVICE("nvmlDeviceGetUtilizationRates", device, gpu);
	nvmlReturn_t r = check(gpu, F_UTILIZATION);
	if (r != NVML_SUCCESS)
		return r;
	if (u == NULL)
		return NVML_ERROR_INVALID_ARGUMENT;
	u->gpu = util_pct(gpu);
	u->memory = u->gpu / 2;
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *m)
{
	DEVICE("nvmlDeviceGetMemoryInfo", device, gpu);
	nvmlReturn_t r = check(gpu, F_MEMORY);
	if (r != NVML_SUCCESS)
		return r;
	if (m == NULL)
		return NVML_ERROR_INVALID_ARGUMENT;
	m->total = 80ULL << 30;
	m->used = (unsigned long long)(gpu + 1) << 30;
	m->free = m->total - m->used;
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetClockInfo(nvmlDevice_t device, int type, unsigned int *clock)
{
	DEVICE("nvmlDeviceGetClockInfo", device, gpu);
	nvmlReturn_t r;
	switch (type) {
	case CLOCK_SM:
		r = check(gpu, F_CLOCK_SM);
		if (clock != NULL)
			*clock = 1980;
		break;
	case CLOCK_MEM:
		r = check(gpu, F_CLOCK_MEM);
		if (clock != NULL)
			*clock = 2619;
		break;
	default:
		return NVML_ERROR_NOT_SUPPORTED;
	}
	if (clock == NULL)
		return NVML_ERROR_INVALID_ARGUMENT;
	return r;
}

nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device, int sensorType, unsigned int *temp)
{
	DEVICE("nvmlDeviceGetTemperature", device, gpu);
	if (sensorType != TEMPERATURE_GPU)
		return NVML_ERROR_INVALID_ARGUMENT;
	nvmlReturn_t r = check(gpu, F_TEMPERATURE);
	if (r != NVML_SUCCESS)
		return r;
	if (temp == NULL)
		return NVML_ERROR_INVALID_ARGUMENT;
	*temp = 40 + gpu;
	return NVML_SUCCESS;
}

#ifndef FAKENVML_NO_EVENT_REASONS
nvmlReturn_t nvmlDeviceGetCurrentClocksEventReasons(nvmlDevice_t device, unsigned long long *reasons)
{
	DEVICE("nvmlDeviceGetCurrentClocksEventReasons", device, gpu);
	nvmlReturn_t r = check(gpu, F_EVENT_REASONS);
	if (r != NVML_SUCCESS)
		return r;
	if (reasons == NULL)
		return NVML_ERROR_INVALID_ARGUMENT;
	*reasons = util_pct(gpu) < 50 ? 1 : 0;
	return NVML_SUCCESS;
}
#endif

nvmlReturn_t nvmlDeviceGetCurrentClocksThrottleReasons(nvmlDevice_t device, unsigned long long *reasons)
{
	DEVICE("nvmlDeviceGetCurrentClocksThrottleReasons", device, gpu);
	nvmlReturn_t r = check(gpu, F_THROTTLE_REASONS);
	if (r != NVML_SUCCESS)
		return r;
	if (reasons == NULL)
		return NVML_ERROR_INVALID_ARGUMENT;
	*reasons = util_pct(gpu) < 50 ? 1 : 0;
	return NVML_SUCCESS;
}

/* ---- processes ---- */

#ifndef FAKENVML_NO_PROCESSES
/* list_procs answers a Get{Compute,Graphics}RunningProcesses call: the
 * GPU's processes of one kind as entries of stride bytes, laid out as
 * nvml.h's nvmlProcessInfo structs: pid at 0, usedGpuMemory at 8, and from
 * 24 bytes gpuInstanceId and computeInstanceId at 16 and 20 (and at 24, for
 * 32 bytes, usedGpuCcProtectedMemory). The padding after pid is left as it
 * was. */
static nvmlReturn_t list_procs(nvmlDevice_t device, unsigned int *count, void *infos, int graphics, size_t stride)
{
	if (device < &devs[0] || device >= &devs[cfg.gpus])
		return NVML_ERROR_INVALID_ARGUMENT;
	delay();
	unsigned gpu = device->index;
	nvmlReturn_t r = check(gpu, graphics ? F_GRAPHICS_PROCS : F_COMPUTE_PROCS);
	if (r != NVML_SUCCESS)
		return r;
	if (count == NULL)
		return NVML_ERROR_INVALID_ARGUMENT;
	unsigned n = 0;
	for (int i = 0; i < cfg.nprocs; i++)
		if (cfg.procs[i].gpu == gpu && (graphics ? cfg.procs[i].graphics : cfg.procs[i].compute))
			n++;
	if (*count < n) {
		*count = n;
		return NVML_ERROR_INSUFFICIENT_SIZE;
	}
	if (n > 0 && infos == NULL)
		return NVML_ERROR_INVALID_ARGUMENT;
	unsigned char *e = infos;
	const unsigned none = NO_INSTANCE;
	const unsigned long long zero = 0;
	for (int i = 0; i < cfg.nprocs; i++) {
		const struct proc *p = &cfg.procs[i];
		if (p->gpu != gpu || !(graphics ? p->graphics : p->compute))
			continue;
		memcpy(e, &p->pid, 4);
		memcpy(e + 8, &p->mem, 8);
		if (stride >= 24) {
			memcpy(e + 16, &none, 4);
			memcpy(e + 20, &none, 4);
		}
		if (stride >= 32)
			memcpy(e + 24, &zero, 8);
		e += stride;
	}
	*count = n;
	return NVML_SUCCESS;
}

#define PROCESS_LIST(name, graphics, stride)                                                  \
	nvmlReturn_t name(nvmlDevice_t device, unsigned int *count, void *infos)              \
	{                                                                                      \
		ENTER(#name);                                                                  \
		return list_procs(device, count, infos, graphics, stride);                     \
	}

#ifndef FAKENVML_NO_PROCESSES_V3
PROCESS_LIST(nvmlDeviceGetComputeRunningProcesses_v3, 0, cfg.proc_stride)
PROCESS_LIST(nvmlDeviceGetGraphicsRunningProcesses_v3, 1, cfg.proc_stride)
#endif
#ifndef FAKENVML_NO_PROCESSES_V2
PROCESS_LIST(nvmlDeviceGetComputeRunningProcesses_v2, 0, 24)
PROCESS_LIST(nvmlDeviceGetGraphicsRunningProcesses_v2, 1, 24)
#endif
PROCESS_LIST(nvmlDeviceGetComputeRunningProcesses, 0, 16)
PROCESS_LIST(nvmlDeviceGetGraphicsRunningProcesses, 1, 16)
#endif
