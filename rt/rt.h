/*
 * referd runtime: what every binary needs of the system beside the pure
 * core, and nothing of the database.  clock.c reads the clocks and
 * formats UTC times, log.c is the one logger, file.c reads the files the
 * core parsers take, proc.c hardens a daemon's process and daemon.c
 * detaches it, holds its pid file and reopens its log.
 *
 * rt/ may use core/ (it feeds the parsers and asks conf_priv_decide());
 * sql/ and the programs use rt/.  Nothing here touches MariaDB.
 */
#ifndef REFERD_RT_H
#define REFERD_RT_H

#include <sys/types.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "core.h"

#define CLOCK_RFC3339	"%Y-%m-%dT%H:%M:%SZ"	/* seconds, UTC */

/* clock.c */
int64_t		 clock_now(void);
int64_t		 clock_wall_ms(void);
int64_t		 clock_mono_ms(void);
int64_t		 clock_mono_us(void);
void		 clock_mono_deadline(struct timespec *, int64_t ms);
int		 clock_utc(char *buf, size_t sz, int64_t t, const char *fmt)
		    __attribute__((format(strftime, 4, 0)));
int		 clock_rfc3339(char *buf, size_t sz, int64_t t);
int		 clock_rfc3339_ms(char *buf, size_t sz, int64_t ms);

/* file.c */
char		*file_read(const char *path, size_t max, size_t *len,
		    char *err, size_t errsz);
int		 conf_load(struct conf *, const char *path, char *err,
		    size_t errsz);
int		 conf_load_role(struct conf *, const char *path,
		    enum conf_role, char *err, size_t errsz);
char		**domains_load(const char *path, size_t *n, char *err,
		    size_t errsz);
void		 domains_free(char **, size_t);

/* log.c: every binary's logger. */
enum log_sev {
	LOG_SEV_ERR,		/* syslog err: something failed */
	LOG_SEV_WARN,		/* warning: lost or degraded, going on */
	LOG_SEV_INFO,		/* info: started, stopped, reloaded */
	LOG_SEV__MAX
};

void		 log_setup(const char *prog);
const char	*log_prog(void);
int		 log_to(const char *dest, char *err, size_t errsz);
int		 log_reopen(char *err, size_t errsz);
int		 log_is_syslog(void);
int		 log_is_file(void);
const char	*log_where(void);
void		 log_detach(void);
size_t		 log_format(char *buf, size_t sz, int64_t t,
		    const char *prog, long pid, enum log_sev, const char *msg);
void		 log_vmsg(enum log_sev, const char *fmt, va_list);
void		 log_msg(enum log_sev, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
void		 log_err(const char *fmt, ...)
		    __attribute__((format(printf, 1, 2)));
void		 log_warn(const char *fmt, ...)
		    __attribute__((format(printf, 1, 2)));
void		 log_info(const char *fmt, ...)
		    __attribute__((format(printf, 1, 2)));
int		 log_config_error(int check, const char *err);
void		 log_fatal(const char *fmt, ...)
		    __attribute__((format(printf, 1, 2)));
FILE		*log_stream(enum log_sev);

/* proc.c: no core dumps, no root. */
struct proc_user {
	int		 drop;		/* 0: stay who we are */
	uid_t		 uid;
	gid_t		 gid;
	char		 name[64];
};

int		 proc_no_dumps(char *err, size_t errsz);
int		 proc_priv_plan(const char *user, struct proc_user *,
		    char *err, size_t errsz);
int		 proc_priv_drop(const struct proc_user *, char *err,
		    size_t errsz);

/* daemon.c: the background, the pid file. */
struct pidfile {
	int		 fd;		/* locked while we run; -1: none */
	char		 path[CONF_STR];
};

int		 pidfile_take(struct pidfile *, const char *path, char *err,
		    size_t errsz);
int		 pidfile_write(struct pidfile *, char *err, size_t errsz);
void		 pidfile_forget(struct pidfile *);
void		 pidfile_release(struct pidfile *);
int		 daemon_start(int keep_stdin);
void		 daemon_ready(int fd);

#endif /* !REFERD_RT_H */
