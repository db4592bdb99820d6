/*
 * baton_spawn: start a job with vfork() and hear of its exit through a pidfd.
 *
 * Why not child_process.spawn: libuv (Node 20) forks, and fork() copies the calling
 * process's page tables, then every page the parent writes afterwards faults once. On the
 * VMs Baton is measured on that cost 3.5-4.7 ms of spawner CPU per job and capped jobs at
 * ~110-150 per second. vfork() shares the parent's memory until the child execs: no copy,
 * no faults, 0.2-0.5 ms of the caller's CPU. glibc's posix_spawn does the same, but cannot change user, which a
 * root worker does for nearly every job (nobody:nogroup by default).
 *
 * What the child gets, as libuv gives it: its own session and process group (setsid), the
 * job's groups (none supplementary), gid and uid when asked, stdin from /dev/null (or the
 * given descriptor: a job submitted with stdin reads it from a file), stdout
 * and stderr on the output file, every signal at its default disposition and none blocked,
 * the given cwd and environment; a file the kernel cannot exec (no "#!") runs under
 * /bin/sh, as execvp does.
 *
 * The child runs on the parent's memory and stack until execve, so between vfork and exec
 * it only makes system calls on data prepared before (struct plan), and changes user with
 * raw syscalls: glibc's setuid() would signal every thread of the *parent* (its setxid
 * broadcast) from inside the child. All signals are blocked around vfork so that none of
 * Node's handlers can run in the child; the child resets them to SIG_DFL before unblocking.
 *
 * Exit: pidfd_open on the new pid (it is our child and unreaped, so the pid cannot be
 * reused before we wait for it), a uv_poll on the pidfd in Node's own loop, and waitid on
 * P_PIDFD when it is readable. libuv's SIGCHLD handler only waits for the pids of its own
 * process handles, so it never reaps these.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <node_api.h>
#include <uv.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

typedef struct {
  uv_poll_t poll;
  int pidfd;
  napi_env env;
  napi_ref callback;
  napi_async_context context;
} exit_watch;

#define CHECK(call)                                                        \
  do {                                                                     \
    if ((call) != napi_ok) {                                               \
      napi_throw_error(env, NULL, "baton_spawn: N-API call failed: " #call); \
      goto done;                                                           \
    }                                                                      \
  } while (0)

/* Throws an Error like Node's: message "spawn <file> <CODE>", .code, .errno, .syscall. */
static void throw_errno(napi_env env, int err, const char *file) {
  const char *code = strerrorname_np(err);
  if (code == NULL) code = "EUNKNOWN";
  size_t len = strlen(file) + strlen(code) + 16;
  char *message = malloc(len);
  if (message == NULL) {
    napi_throw_error(env, code, "spawn failed");
    return;
  }
  snprintf(message, len, "spawn %s %s", file, code);
  napi_value msg, code_value, errno_value, syscall_value, error;
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_value);
  napi_create_int32(env, -err, &errno_value);
  napi_create_string_utf8(env, "spawn", NAPI_AUTO_LENGTH, &syscall_value);
  napi_create_error(env, code_value, msg, &error);
  napi_set_named_property(env, error, "errno", errno_value);
  napi_set_named_property(env, error, "syscall", syscall_value);
  napi_throw(env, error);
  free(message);
}

/*
 * A JS string as a malloc'ed C string, or NULL (with a JS exception pending). A string
 * holding a NUL is refused, as child_process refuses it: as a C string it would end there,
 * and the job would run with a cut-off argument, variable or directory.
 */
static char *string_arg(napi_env env, napi_value value) {
  size_t len;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "baton_spawn: expected a string");
    return NULL;
  }
  char *s = malloc(len + 1);
  if (s == NULL) {
    napi_throw_error(env, "ENOMEM", "baton_spawn: out of memory");
    return NULL;
  }
  napi_get_value_string_utf8(env, value, s, len + 1, &len);
  if (strlen(s) != len) {
    free(s);
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "arguments, environment and cwd must not contain null bytes");
    return NULL;
  }
  return s;
}

/* A JS array of strings as a NULL-terminated array of C strings, or NULL. */
static char **string_array(napi_env env, napi_value array) {
  uint32_t n;
  if (napi_get_array_length(env, array, &n) != napi_ok) {
    napi_throw_type_error(env, NULL, "baton_spawn: expected an array of strings");
    return NULL;
  }
  char **out = calloc(n + 1, sizeof(char *));
  if (out == NULL) return NULL;
  for (uint32_t i = 0; i < n; i++) {
    napi_value item;
    napi_get_element(env, array, i, &item);
    out[i] = string_arg(env, item);
    if (out[i] == NULL) {
      for (uint32_t j = 0; j < i; j++) free(out[j]);
      free(out);
      return NULL;
    }
  }
  return out;
}

static void free_array(char **array) {
  if (array == NULL) return;
  for (char **p = array; *p != NULL; p++) free(*p);
  free(array);
}

static void on_closed(uv_handle_t *handle) {
  exit_watch *watch = (exit_watch *)handle;
  napi_delete_reference(watch->env, watch->callback);
  napi_async_destroy(watch->env, watch->context);
  free(watch);
}

static void on_exit_readable(uv_poll_t *poll, int status, int events) {
  exit_watch *watch = (exit_watch *)poll;
  siginfo_t info;
  memset(&info, 0, sizeof info);
  int r;
  /* WNOHANG: a poll error (status < 0) must not block the loop on a job still running. */
  do r = waitid(P_PIDFD, watch->pidfd, &info, WEXITED | WNOHANG);
  while (r == -1 && errno == EINTR);
  if (r == 0 && info.si_pid == 0) return; /* not ended yet: keep polling */
  uv_poll_stop(poll);
  close(watch->pidfd);

  napi_env env = watch->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value code, signal, callback, resource, result;
  if (r == 0 && info.si_code == CLD_EXITED) {
    napi_create_int32(env, info.si_status, &code);
    napi_get_null(env, &signal);
  } else {
    /* Killed or dumped core. waitid fails only if something else reaped it (nothing here
       does): reported as signal 0, which no exit has, rather than as an exit code. */
    napi_get_null(env, &code);
    napi_create_int32(env, r == 0 ? info.si_status : 0, &signal);
  }
  napi_get_reference_value(env, watch->callback, &callback);
  napi_get_global(env, &resource);
  napi_value argv[2] = {code, signal};
  if (napi_make_callback(env, watch->context, resource, callback, 2, argv, &result) == napi_pending_exception) {
    /* Called from the event loop, nothing above us would see it: make it the process's uncaught exception. */
    napi_value error;
    if (napi_get_and_clear_last_exception(env, &error) == napi_ok) napi_fatal_exception(env, error);
  }
  napi_close_handle_scope(env, scope);
  uv_close((uv_handle_t *)poll, on_closed);
}

/* Everything the child needs, prepared before vfork: it must not allocate. */
struct plan {
  const char *file;
  char **args;
  char **sh_args; /* {"/bin/sh", file, args[1]..., NULL}, for ENOEXEC */
  char **envp;
  const char *cwd;
  int out_fd;
  int err_fd; /* the job's stderr; -1: out_fd as well */
  int in_fd; /* -1: /dev/null */
  int64_t uid, gid; /* -1: keep the spawner's */
  volatile int err; /* written by the child when it cannot exec; read by the parent after vfork returns */
  /* The child's /proc/self/stat, read by the child itself before exec (its start time names
     it for the run journal). Read by anyone else once the child has exec'd, that file waits
     until the exec completes: ~0.7 ms of a blocked worker per job. */
  char proc_stat[1024];
  volatile ssize_t proc_stat_len;
};

/* The vfork child: never returns. Only system calls, on memory the parent prepared. */
static void __attribute__((noreturn, noinline)) child(struct plan *plan) {
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  /* SIGKILL, SIGSTOP and glibc's two internal signals refuse; exec resets the latter anyway. */
  for (int sig = 1; sig < NSIG; sig++) sigaction(sig, &dfl, NULL);
  sigset_t none;
  sigemptyset(&none);
  if (setsid() < 0) goto fail;
  if (plan->gid >= 0 || plan->uid >= 0) {
    if (syscall(SYS_setgroups, 0, NULL) < 0) goto fail;
  }
  if (plan->gid >= 0 && syscall(SYS_setgid, (gid_t)plan->gid) < 0) goto fail;
  if (plan->uid >= 0 && syscall(SYS_setuid, (uid_t)plan->uid) < 0) goto fail;
  if (dup2(plan->out_fd, 1) < 0 || dup2(plan->err_fd >= 0 ? plan->err_fd : plan->out_fd, 2) < 0) goto fail;
  int stdin_fd = plan->in_fd >= 0 ? plan->in_fd : open("/dev/null", O_RDONLY);
  if (stdin_fd < 0) goto fail;
  if (stdin_fd != 0) {
    if (dup2(stdin_fd, 0) < 0) goto fail;
    close(stdin_fd);
  }
  if (chdir(plan->cwd) < 0) goto fail;
  int stat_fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  if (stat_fd >= 0) {
    plan->proc_stat_len = read(stat_fd, plan->proc_stat, sizeof plan->proc_stat);
    close(stat_fd);
  }
  sigprocmask(SIG_SETMASK, &none, NULL);
  execve(plan->file, plan->args, plan->envp);
  if (errno == ENOEXEC) execve("/bin/sh", plan->sh_args, plan->envp);
fail:
  plan->err = errno;
  _exit(127);
}

/* vfork + exec; returns the pid, or -errno. */
static pid_t start(struct plan *plan) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  plan->err = 0;
  plan->proc_stat_len = -1;
  pid_t pid = vfork();
  if (pid == 0) child(plan);
  int err = pid < 0 ? errno : plan->err;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (err != 0 && pid > 0) waitpid(pid, NULL, 0); /* it _exited without exec */
  return err != 0 ? -err : pid;
}

/* An int64 argument; -1 (or undefined) means "not given". */
static int int64_arg(napi_env env, napi_value value, int64_t *out) {
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok) return 0;
  if (type == napi_undefined || type == napi_null) {
    *out = -1;
    return 1;
  }
  if (type != napi_number || napi_get_value_int64(env, value, out) != napi_ok) {
    napi_throw_type_error(env, NULL, "baton_spawn: uid and gid must be numbers or undefined");
    return 0;
  }
  return 1;
}

/* spawn(file, args, envPairs, cwd, outputFd, uid, gid, onExit(code, signalNumber)[, inputFd[, errorFd]]) → {pid, procStat} */
static napi_value Spawn(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 10;
  napi_value argv[10], result = NULL;
  struct plan plan;
  memset(&plan, 0, sizeof plan);
  char *file = NULL, *cwd = NULL, **args = NULL, **envp = NULL, **sh_args = NULL;
  exit_watch *watch = NULL;

  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  if (argc < 8 || argc > 10) {
    napi_throw_type_error(env, NULL, "baton_spawn: spawn(file, args, envPairs, cwd, outputFd, uid, gid, onExit[, inputFd[, errorFd]])");
    goto done;
  }
  if ((file = string_arg(env, argv[0])) == NULL) goto done;
  if ((args = string_array(env, argv[1])) == NULL) goto done;
  if ((envp = string_array(env, argv[2])) == NULL) goto done;
  if ((cwd = string_arg(env, argv[3])) == NULL) goto done;
  CHECK(napi_get_value_int32(env, argv[4], &plan.out_fd));
  plan.in_fd = -1;
  plan.err_fd = -1;
  if (argc >= 9) CHECK(napi_get_value_int32(env, argv[8], &plan.in_fd));
  if (argc == 10) CHECK(napi_get_value_int32(env, argv[9], &plan.err_fd));
  if (!int64_arg(env, argv[5], &plan.uid) || !int64_arg(env, argv[6], &plan.gid)) goto done;

  size_t n = 0;
  while (args[n] != NULL) n++;
  if ((sh_args = calloc(n + 2, sizeof(char *))) == NULL) {
    throw_errno(env, ENOMEM, file);
    goto done;
  }
  sh_args[0] = "/bin/sh";
  sh_args[1] = file;
  for (size_t i = 1; i < n; i++) sh_args[i + 1] = args[i];
  plan.file = file;
  plan.args = args;
  plan.sh_args = sh_args;
  plan.envp = envp;
  plan.cwd = cwd;

  /* Everything that can fail in N-API is done before the job starts: a started job is always watched. */
  uv_loop_t *loop;
  napi_value name;
  CHECK(napi_get_uv_event_loop(env, &loop));
  CHECK(napi_create_string_utf8(env, "baton_spawn", NAPI_AUTO_LENGTH, &name));
  if ((watch = calloc(1, sizeof *watch)) == NULL) {
    throw_errno(env, ENOMEM, file);
    goto done;
  }
  watch->env = env;
  CHECK(napi_create_reference(env, argv[7], 1, &watch->callback));
  CHECK(napi_async_init(env, NULL, name, &watch->context));

  pid_t pid = start(&plan);
  if (pid < 0) {
    throw_errno(env, -pid, file);
    goto done;
  }
  watch->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  int err = 0, polling = 0;
  if (watch->pidfd < 0) {
    err = errno;
  } else if ((err = -uv_poll_init(loop, &watch->poll, watch->pidfd)) == 0) {
    polling = 1;
    err = -uv_poll_start(&watch->poll, UV_READABLE, on_exit_readable);
  }
  if (err != 0) {
    /* It cannot be watched, so it must not run. */
    kill(-pid, SIGKILL);
    waitpid(pid, NULL, 0);
    if (polling) {
      uv_close((uv_handle_t *)&watch->poll, on_closed); /* stops polling now, frees later */
      watch->pidfd = (close(watch->pidfd), -1);
      watch = NULL;
    } else if (watch->pidfd >= 0) {
      close(watch->pidfd);
    }
    throw_errno(env, err, file);
    goto done;
  }
  watch = NULL; /* on_exit_readable owns it now */
  napi_value pid_value, stat_value, object;
  CHECK(napi_create_int32(env, pid, &pid_value));
  if (plan.proc_stat_len > 0) {
    CHECK(napi_create_string_latin1(env, plan.proc_stat, (size_t)plan.proc_stat_len, &stat_value));
  } else {
    CHECK(napi_get_undefined(env, &stat_value));
  }
  CHECK(napi_create_object(env, &object));
  CHECK(napi_set_named_property(env, object, "pid", pid_value));
  CHECK(napi_set_named_property(env, object, "procStat", stat_value));
  result = object;

done:
  if (watch != NULL) {
    if (watch->callback != NULL) napi_delete_reference(env, watch->callback);
    if (watch->context != NULL) napi_async_destroy(env, watch->context);
    free(watch);
  }
  free(sh_args); /* its strings belong to file and args */
  free(file);
  free(cwd);
  free_array(args);
  free_array(envp);
  return result;
}

/* probe() → undefined, or the error pidfd_open gives (ENOSYS before Linux 5.3): without it no exit could be heard. */
static napi_value Probe(napi_env env, napi_callback_info cbinfo) {
  (void)cbinfo;
  int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
  if (fd < 0) {
    throw_errno(env, errno, "pidfd_open");
    return NULL;
  }
  close(fd);
  return NULL;
}

/*
 * pipeCopy(outputFd, headBytes, tailBytes, onDone(totalBytes, cutBytes, errno)) → writeFd
 * pipeCopySplit(outputFd, runsFd, headBytes, tailBytes, onDone) → [stdoutFd, stderrFd]
 *
 * The job's output cap, held as written: the job writes into a pipe whose other end a thread
 * of this process copies to the output file. The first `headBytes` go in order with splice()
 * (no copy through user space); after them, the file's next `tailBytes` are a ring holding
 * the latest bytes. At the end of the pipe (every writer gone), a file whose ring wrapped is
 * put in order: the head, one marker line saying how many bytes were cut, then the tail. The
 * file never holds more than head + tail bytes while the job runs, and that plus the marker
 * line after it. `onDone` is called from the event loop once the file is final.
 *
 * Split: stdout and stderr are two pipes, copied into the one file in the order the thread
 * finds their bytes (within each stream, the order written; between them, as with any two
 * pipes), and `runsFd` gets which stream each byte of the file came from: "runs", each one
 * LEB128 varint of length * 4 + kind (0 stdout, 1 stderr, 2 both: the marker line), in file
 * order (src/common/output-runs.ts reads them). The head's runs are appended as they are
 * copied, so a live reader can pick one stream out; the tail's are held in memory (only
 * those still in the ring) and written at the end, in the final file's offsets.
 *
 * The runs count against the disk a job may use: a job switching stream every byte would
 * otherwise double it. They are held to 1/16 of head + tail (RUNS_SHARE): the first run that
 * would take them past it (counting the tail's runs as they would be written) is not
 * recorded; one varint of length 0 and kind 3 (RUNS_STOP) is written instead and no run after
 * it. The output file goes on as before, both streams interleaved exactly; only which bytes
 * came from which stream is no longer known, so readers refuse a stream rather than guess.
 */
typedef struct {
  uint64_t start; /* byte number in the whole output */
  uint64_t len;
  int kind;
} run;

/* Bytes found waiting in one pipe, newer than every batch before it. */
typedef struct {
  int stream;
  uint64_t bytes;
} batch;

#define MAX_BATCHES 64

typedef struct {
  int in_fd[2]; /* stdout, stderr; -1 once at its end (not split: only in_fd[0]) */
  int out_fd;
  int runs_fd; /* -1: not split */
  uint64_t head;
  uint64_t ring;
  uint64_t total;
  uint64_t cut;
  int error;
  batch batches[MAX_BATCHES]; /* bytes found in the pipes, oldest first, from batch_first */
  size_t batch_first, batch_count;
  uint64_t queued[2]; /* bytes of each pipe in batches */
  uint64_t runs_budget; /* the most bytes runs_fd gets, RUNS_STOP included */
  uint64_t runs_written;
  int runs_stopped;
  run pending;   /* the head's run not yet written to runs_fd */
  run *tail_runs; /* the ring's runs, oldest first, from tail_first */
  size_t tail_first, tail_count, tail_cap;
  uint64_t tail_bytes; /* the tail's runs, encoded */
  napi_threadsafe_function done;
} copier;

#define COPY_CHUNK (1 << 20)
#define RING_CHUNK (1 << 16)
#define KIND_BOTH 2
#define RUNS_SHARE 16
/* Length 0, kind 3: the runs stop here. */
#define RUNS_STOP 3
/* Room kept for the marker's run (its length is under 200: two bytes) and RUNS_STOP. */
#define RUNS_RESERVE 3

static int pwrite_all(int fd, const char *buf, size_t len, off_t at) {
  while (len > 0) {
    ssize_t n = pwrite(fd, buf, len, at);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    buf += n;
    len -= (size_t)n;
    at += n;
  }
  return 0;
}

static int write_all(int fd, const uint8_t *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

/* One run as its varint; returns its length (at most 10). */
static size_t encode_run(uint8_t *out, uint64_t len, int kind) {
  uint64_t v = len * 4 + (uint64_t)kind;
  size_t i = 0;
  while (v >= 0x80) {
    out[i++] = (uint8_t)(v & 0x7f) | 0x80;
    v >>= 7;
  }
  out[i++] = (uint8_t)v;
  return i;
}

static size_t run_size(uint64_t len, int kind) {
  uint8_t buf[10];
  return encode_run(buf, len, kind);
}

/* True when runs of `more` bytes fit in the budget beside those written and the reserve. */
static int runs_fit(const copier *c, uint64_t more) {
  return c->runs_written + more + RUNS_RESERVE <= c->runs_budget;
}

/* The budget is spent: RUNS_STOP ends the runs, and no run is recorded after it. */
static void stop_runs(copier *c) {
  uint8_t stop = RUNS_STOP;
  if (!c->error) c->error = write_all(c->runs_fd, &stop, 1);
  c->runs_stopped = 1;
  c->pending.len = 0;
  c->tail_first = c->tail_count = 0;
  c->tail_bytes = 0;
}

/* Writes the head's pending run, so that readers see it: before the thread waits, when the stream changes, at the head's end. */
static void flush_pending(copier *c) {
  if (c->runs_fd < 0 || c->runs_stopped || c->pending.len == 0 || c->error) return;
  uint8_t buf[10];
  size_t n = encode_run(buf, c->pending.len, c->pending.kind);
  if (!runs_fit(c, n)) {
    stop_runs(c);
    return;
  }
  c->error = write_all(c->runs_fd, buf, n);
  c->runs_written += n;
  c->pending.len = 0;
}

static void head_run(copier *c, int kind, uint64_t n) {
  if (c->pending.len > 0 && c->pending.kind != kind) flush_pending(c);
  c->pending.kind = kind;
  c->pending.len += n;
}

/* `n` bytes of `kind` went into the ring at byte number `start`; runs wholly out of the ring are dropped. */
static int tail_run(copier *c, int kind, uint64_t start, uint64_t n) {
  if (c->runs_fd < 0 || c->runs_stopped || c->ring == 0) return 0;
  run *last = c->tail_count > 0 ? &c->tail_runs[c->tail_first + c->tail_count - 1] : NULL;
  if (last != NULL && last->kind == kind && last->start + last->len == start) {
    c->tail_bytes -= run_size(last->len, kind);
    last->len += n;
    c->tail_bytes += run_size(last->len, kind);
  } else {
    if (c->tail_first + c->tail_count == c->tail_cap) {
      if (c->tail_first > c->tail_cap / 2) {
        memmove(c->tail_runs, c->tail_runs + c->tail_first, c->tail_count * sizeof(run));
        c->tail_first = 0;
      } else {
        size_t cap = c->tail_cap ? c->tail_cap * 2 : 64;
        run *grown = realloc(c->tail_runs, cap * sizeof(run));
        if (grown == NULL) return ENOMEM;
        c->tail_runs = grown;
        c->tail_cap = cap;
      }
    }
    c->tail_runs[c->tail_first + c->tail_count++] = (run){start, n, kind};
    c->tail_bytes += run_size(n, kind);
  }
  uint64_t oldest = start + n > c->ring ? start + n - c->ring : 0;
  while (c->tail_count > 1 && c->tail_runs[c->tail_first].start + c->tail_runs[c->tail_first].len <= oldest) {
    c->tail_bytes -= run_size(c->tail_runs[c->tail_first].len, c->tail_runs[c->tail_first].kind);
    c->tail_first++;
    c->tail_count--;
  }
  /* Counted as held, an upper bound of what is written: the first run may yet be cut at the ring's start. */
  if (!runs_fit(c, c->tail_bytes)) stop_runs(c);
  return 0;
}

/* The tail's runs, after the head's: from byte `from` of the output on, the first of them at file offset `at` after a marker run of `marker` bytes (0: none). */
static int write_tail_runs(copier *c, uint64_t from, uint64_t marker) {
  if (c->runs_fd < 0 || c->runs_stopped) return 0;
  size_t cap = (c->tail_count + 1) * 10;
  uint8_t *buf = malloc(cap);
  if (buf == NULL) return ENOMEM;
  size_t used = 0;
  if (marker > 0) used += encode_run(buf + used, marker, KIND_BOTH);
  for (size_t i = 0; i < c->tail_count; i++) {
    run r = c->tail_runs[c->tail_first + i];
    uint64_t end = r.start + r.len;
    uint64_t start = r.start < from ? from : r.start;
    if (end > start) used += encode_run(buf + used, end - start, r.kind);
  }
  int err = write_all(c->runs_fd, buf, used);
  free(buf);
  return err;
}

/* The tail ring: byte number `total` of the output goes to head + (total - head) mod ring. */
static int ring_write(copier *c, const char *buf, size_t len) {
  if (c->ring == 0) return 0;
  while (len > 0) {
    uint64_t at = (c->total - c->head) % c->ring;
    size_t room = (size_t)(c->ring - at);
    size_t n = len < room ? len : room;
    int err = pwrite_all(c->out_fd, buf, n, (off_t)(c->head + at));
    if (err) return err;
    buf += n;
    len -= n;
    c->total += n;
  }
  return 0;
}

/* A wrapped ring in order after the head, with the marker line between them; returns the marker's length in `marker_len`. */
static int put_in_order(copier *c, uint64_t *marker_len) {
  char marker[200];
  int mlen = snprintf(marker, sizeof marker, "\n[baton: %llu bytes of output cut here: over the cap, the first %llu and the last %llu bytes are kept]\n",
                      (unsigned long long)c->cut, (unsigned long long)c->head, (unsigned long long)c->ring);
  *marker_len = (uint64_t)mlen;
  char *tail = malloc(c->ring > 0 ? c->ring : 1);
  if (tail == NULL) return ENOMEM;
  uint64_t oldest = (c->total - c->head) % c->ring;
  size_t got = 0;
  while (got < c->ring) {
    ssize_t n = pread(c->out_fd, tail + got, c->ring - got, (off_t)(c->head + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      free(tail);
      return n < 0 ? errno : EIO;
    }
    got += (size_t)n;
  }
  int err = pwrite_all(c->out_fd, marker, (size_t)mlen, (off_t)c->head);
  if (!err) err = pwrite_all(c->out_fd, tail + oldest, (size_t)(c->ring - oldest), (off_t)(c->head + (uint64_t)mlen));
  if (!err) err = pwrite_all(c->out_fd, tail, (size_t)oldest, (off_t)(c->head + (uint64_t)mlen + c->ring - oldest));
  if (!err && ftruncate(c->out_fd, (off_t)(c->head + (uint64_t)mlen + c->ring)) < 0) err = errno;
  free(tail);
  return err;
}

/*
 * Split: which pipe's bytes were written first is not something a pipe says. What the thread
 * knows is when it first saw them: bytes found waiting in one pipe (FIONREAD) are newer than
 * those it found before in either. So the bytes are taken in batches in the order found,
 * and the pipes are looked at again after every read: two writes land out of order only
 * when both arrived between two looks (stdout's then first), not whenever the thread lags.
 */
static void find_batches(copier *c) {
  for (int i = 0; i < 2; i++) {
    int avail = 0;
    if (c->in_fd[i] < 0 || ioctl(c->in_fd[i], FIONREAD, &avail) < 0 || (uint64_t)avail <= c->queued[i]) continue;
    uint64_t fresh = (uint64_t)avail - c->queued[i];
    batch *last = c->batch_count > 0 ? &c->batches[(c->batch_first + c->batch_count - 1) % MAX_BATCHES] : NULL;
    if (last != NULL && last->stream == i) {
      last->bytes += fresh;
    } else if (c->batch_count < MAX_BATCHES) {
      c->batches[(c->batch_first + c->batch_count++) % MAX_BATCHES] = (batch){i, fresh};
    } else {
      continue; /* found again on a later look */
    }
    c->queued[i] += fresh;
  }
}

/* `n` bytes of the oldest batch were taken (0: it cannot be, drop it). */
static void took_batch(copier *c, uint64_t n) {
  batch *b = &c->batches[c->batch_first];
  if (n == 0 || n > b->bytes) n = b->bytes;
  b->bytes -= n;
  c->queued[b->stream] -= n;
  if (b->bytes == 0) {
    c->batch_first = (c->batch_first + 1) % MAX_BATCHES;
    c->batch_count--;
  }
}

/*
 * The pipe to take the next bytes from, at most `*most` of them; -1 once every pipe is at its
 * end. Not split: the one pipe, read blocking. Split: the oldest batch; with none, the
 * pending run is written for readers and the thread waits for either pipe.
 */
static int next_ready(copier *c, uint64_t *most) {
  if (c->runs_fd < 0) {
    *most = UINT64_MAX;
    return c->in_fd[0] >= 0 ? 0 : -1;
  }
  for (;;) {
    find_batches(c);
    if (c->batch_count > 0) {
      batch *b = &c->batches[c->batch_first];
      *most = b->bytes;
      return b->stream;
    }
    if (c->in_fd[0] < 0 && c->in_fd[1] < 0) return -1;
    flush_pending(c);
    struct pollfd fds[2] = {{c->in_fd[0], POLLIN, 0}, {c->in_fd[1], POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      c->error = errno;
      return -1;
    }
    for (int i = 0; i < 2; i++) {
      int avail = 0;
      /* Hung up with nothing left: that pipe is at its end. */
      if (c->in_fd[i] >= 0 && (fds[i].revents & (POLLHUP | POLLERR)) && ioctl(c->in_fd[i], FIONREAD, &avail) == 0 && avail == 0) {
        close(c->in_fd[i]);
        c->in_fd[i] = -1;
      }
    }
  }
}

/* A pipe that answered n (< 0 with errno; 0 at its end): true when bytes came. */
static int took(copier *c, int i, ssize_t n) {
  if (c->runs_fd >= 0) took_batch(c, n > 0 ? (uint64_t)n : 0);
  if (n > 0) return 1;
  if (n == 0) {
    close(c->in_fd[i]);
    c->in_fd[i] = -1;
    return 0;
  }
  if (errno != EINTR && errno != EAGAIN) c->error = errno;
  return 0;
}

static void *copy_main(void *arg) {
  copier *c = arg;
  loff_t pos = 0;
  int i;
  uint64_t most;
  unsigned int flags = SPLICE_F_MOVE | SPLICE_F_MORE | (c->runs_fd >= 0 ? SPLICE_F_NONBLOCK : 0);
  while (!c->error && c->total < c->head && (i = next_ready(c, &most)) >= 0) {
    uint64_t want = c->head - c->total;
    if (want > most) want = most;
    ssize_t n = splice(c->in_fd[i], NULL, c->out_fd, &pos, want < COPY_CHUNK ? (size_t)want : COPY_CHUNK, flags);
    if (!took(c, i, n)) continue;
    head_run(c, i, (uint64_t)n);
    c->total += (uint64_t)n;
  }
  flush_pending(c);
  char *buf = NULL;
  if (!c->error && (c->in_fd[0] >= 0 || c->in_fd[1] >= 0)) buf = malloc(RING_CHUNK);
  if (!c->error && (c->in_fd[0] >= 0 || c->in_fd[1] >= 0) && buf == NULL) c->error = ENOMEM;
  while (buf != NULL && !c->error && (i = next_ready(c, &most)) >= 0) {
    ssize_t n = read(c->in_fd[i], buf, most < RING_CHUNK ? (size_t)most : RING_CHUNK);
    if (!took(c, i, n)) continue;
    uint64_t start = c->total;
    c->error = ring_write(c, buf, (size_t)n);
    if (!c->error) c->error = tail_run(c, i, start, (uint64_t)n);
  }
  free(buf);
  uint64_t marker = 0;
  if (c->total > c->head + c->ring) {
    c->cut = c->total - c->head - c->ring;
    if (!c->error && c->ring > 0) c->error = put_in_order(c, &marker);
  }
  if (!c->error) c->error = write_tail_runs(c, marker > 0 ? c->total - c->ring : c->head, marker);
  for (i = 0; i < 2; i++)
    if (c->in_fd[i] >= 0) close(c->in_fd[i]);
  close(c->out_fd);
  if (c->runs_fd >= 0) close(c->runs_fd);
  free(c->tail_runs);
  napi_call_threadsafe_function(c->done, c, napi_tsfn_blocking);
  return NULL;
}

static void copy_done(napi_env env, napi_value callback, void *context, void *data) {
  (void)context;
  copier *c = data;
  if (env != NULL && callback != NULL) {
    napi_value argv[3], undefined;
    napi_create_double(env, (double)c->total, &argv[0]);
    napi_create_double(env, (double)c->cut, &argv[1]);
    napi_create_int32(env, c->error, &argv[2]);
    napi_get_undefined(env, &undefined);
    napi_call_function(env, undefined, callback, 3, argv, NULL);
  }
  napi_release_threadsafe_function(c->done, napi_tsfn_release);
  free(c);
}

/* A pipe for the job to write into (its read end, non-blocking when split, goes to the copier); the write end, or -1 with errno. */
static int copy_pipe(copier *c, int i, int split) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) return -1;
  /* A bigger pipe: fewer wake-ups of the job and of the copier (best effort; the limit is fs.pipe-max-size). */
  fcntl(fds[1], F_SETPIPE_SZ, COPY_CHUNK);
  if (split) fcntl(fds[0], F_SETFL, O_NONBLOCK);
  c->in_fd[i] = fds[0];
  return fds[1];
}

/* Largest count of bytes a JS number holds exactly (2^53 - 1). */
#define MAX_EXACT_BYTES 9007199254740991.0

/*
 * A count of bytes: a whole number from 0 to MAX_EXACT_BYTES. NaN, infinities, fractions and
 * negatives are refused (cast to uint64_t, NaN and out-of-range values are undefined behaviour).
 */
static int byte_count(double value, uint64_t *out) {
  if (!(value >= 0 && value <= MAX_EXACT_BYTES) || value != (double)(uint64_t)value) return 0;
  *out = (uint64_t)value;
  return 1;
}

/* The copy of pipeCopy (runs_at < 0) and pipeCopySplit: argv is (outputFd, [runsFd,] headBytes, tailBytes, onDone). */
static napi_value start_copy(napi_env env, napi_callback_info cbinfo, int split) {
  size_t argc = 5, want = split ? 5 : 4;
  napi_value argv[5], result = NULL, name;
  int32_t out_fd, runs_fd = -1;
  double head, ring;
  size_t at = split ? 2 : 1;
  if (napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL) != napi_ok || argc < want || napi_get_value_int32(env, argv[0], &out_fd) != napi_ok ||
      (split && napi_get_value_int32(env, argv[1], &runs_fd) != napi_ok) || napi_get_value_double(env, argv[at], &head) != napi_ok ||
      napi_get_value_double(env, argv[at + 1], &ring) != napi_ok) {
    napi_throw_type_error(env, NULL, split ? "baton_spawn: pipeCopySplit(outputFd, runsFd, headBytes, tailBytes, onDone)" : "baton_spawn: pipeCopy(outputFd, headBytes, tailBytes, onDone)");
    return NULL;
  }
  uint64_t head_bytes, ring_bytes;
  if (!byte_count(head, &head_bytes) || !byte_count(ring, &ring_bytes)) {
    napi_throw_range_error(env, NULL, "baton_spawn: headBytes and tailBytes must be whole numbers of bytes from 0 to 2^53 - 1");
    return NULL;
  }
  copier *c = calloc(1, sizeof *c);
  if (c == NULL) {
    throw_errno(env, ENOMEM, "pipeCopy");
    return NULL;
  }
  c->head = head_bytes;
  c->ring = ring_bytes;
  c->runs_budget = (c->head + c->ring) / RUNS_SHARE;
  c->in_fd[0] = c->in_fd[1] = c->out_fd = c->runs_fd = -1;
  int write_fd[2] = {-1, -1};
  if ((write_fd[0] = copy_pipe(c, 0, split)) < 0 || (split && (write_fd[1] = copy_pipe(c, 1, split)) < 0)) {
    throw_errno(env, errno, "pipe");
    goto fail;
  }
  if ((c->out_fd = fcntl(out_fd, F_DUPFD_CLOEXEC, 0)) < 0 || (split && (c->runs_fd = fcntl(runs_fd, F_DUPFD_CLOEXEC, 0)) < 0)) {
    throw_errno(env, errno, "pipeCopy");
    goto fail;
  }
  napi_create_string_utf8(env, "baton output copy", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[at + 2], NULL, name, 0, 1, NULL, NULL, NULL, copy_done, &c->done) != napi_ok) {
    napi_throw_error(env, NULL, "baton_spawn: cannot create the copy's callback");
    goto fail;
  }
  pthread_attr_t attr;
  pthread_t thread;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  int err = pthread_create(&thread, &attr, copy_main, c);
  pthread_attr_destroy(&attr);
  if (err != 0) {
    napi_release_threadsafe_function(c->done, napi_tsfn_abort);
    throw_errno(env, err, "pipeCopy");
    goto fail;
  }
  if (!split) {
    napi_create_int32(env, write_fd[0], &result);
    return result;
  }
  napi_value out, errv;
  napi_create_array_with_length(env, 2, &result);
  napi_create_int32(env, write_fd[0], &out);
  napi_create_int32(env, write_fd[1], &errv);
  napi_set_element(env, result, 0, out);
  napi_set_element(env, result, 1, errv);
  return result;
fail:
  for (int i = 0; i < 2; i++) {
    if (c->in_fd[i] >= 0) close(c->in_fd[i]);
    if (write_fd[i] >= 0) close(write_fd[i]);
  }
  if (c->out_fd >= 0) close(c->out_fd);
  if (c->runs_fd >= 0) close(c->runs_fd);
  free(c);
  return NULL;
}

static napi_value PipeCopy(napi_env env, napi_callback_info cbinfo) {
  return start_copy(env, cbinfo, 0);
}

static napi_value PipeCopySplit(napi_env env, napi_callback_info cbinfo) {
  return start_copy(env, cbinfo, 1);
}

NAPI_MODULE_INIT() {
  napi_value spawn_fn, probe_fn;
  if (napi_create_function(env, "spawn", NAPI_AUTO_LENGTH, Spawn, NULL, &spawn_fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "spawn", spawn_fn) != napi_ok) return NULL;
  if (napi_create_function(env, "probe", NAPI_AUTO_LENGTH, Probe, NULL, &probe_fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "probe", probe_fn) != napi_ok) return NULL;
  napi_value copy_fn;
  if (napi_create_function(env, "pipeCopy", NAPI_AUTO_LENGTH, PipeCopy, NULL, &copy_fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "pipeCopy", copy_fn) != napi_ok) return NULL;
  napi_value split_fn;
  if (napi_create_function(env, "pipeCopySplit", NAPI_AUTO_LENGTH, PipeCopySplit, NULL, &split_fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "pipeCopySplit", split_fn) != napi_ok) return NULL;
  return exports;
}
