/*
 * Process hygiene of the daemons: no core dumps (a worker holds every
 * key), and never root: started as root they drop to the configured
 * "user" once the socket is bound and the logs and pid file are open
 * (slowcgi's order), or refuse to run.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt.h"

/*
 * No core file, and no ptrace or /proc/PID/mem by other processes of the
 * same user.  Returns 0, or -1 with "err".
 */
int
proc_no_dumps(char *err, size_t errsz)
{
	struct rlimit	 rl = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &rl) == -1) {
		snprintf(err, errsz, "setrlimit(RLIMIT_CORE): %s",
		    strerror(errno));
		return -1;
	}
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1) {
		snprintf(err, errsz, "prctl(PR_SET_DUMPABLE): %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Plans the privileges of a daemon from its real uid, "user" and the
 * environment variable REFERD_DEV_ROOT=1 (the development stack, run as
 * root on CI): conf_priv_decide().  Looks "user" up when it is to be
 * dropped to.  Returns 0 with *pu filled, or -1 with "err" (root without
 * "user", or no such user).
 */
int
proc_priv_plan(const char *user, struct proc_user *pu, char *err,
    size_t errsz)
{
	const char	*dev = getenv("REFERD_DEV_ROOT");
	struct passwd	*pw;

	memset(pu, 0, sizeof(*pu));
	switch (conf_priv_decide((long)getuid(), user,
	    dev != NULL && strcmp(dev, "1") == 0)) {
	case CONF_PRIV_KEEP:
		return 0;
	case CONF_PRIV_REFUSE:
		snprintf(err, errsz, "user: started as root without "
		    "\"user\": set user = referd (the account to run as "
		    "after binding) or start it as that user");
		return -1;
	case CONF_PRIV_DROP:
		break;
	}
	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, errsz, "user: no user %s", user);
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errsz, "user: %s is root; name an "
		    "unprivileged account", user);
		return -1;
	}
	pu->drop = 1;
	pu->uid = pw->pw_uid;
	pu->gid = pw->pw_gid;
	snprintf(pu->name, sizeof(pu->name), "%s", user);
	return 0;
}

/*
 * Drops to the planned user if there is one: its group only, then its
 * uid, for good (setuid(0) must fail after).  Returns 0, or -1 with
 * "err".
 */
int
proc_priv_drop(const struct proc_user *pu, char *err, size_t errsz)
{
	if (!pu->drop)
		return 0;
	if (setgroups(1, &pu->gid) == -1 || setgid(pu->gid) == -1 ||
	    setuid(pu->uid) == -1) {
		snprintf(err, errsz, "dropping to user %s: %s", pu->name,
		    strerror(errno));
		return -1;
	}
	if (setuid(0) != -1 || getuid() != pu->uid || geteuid() != pu->uid) {
		snprintf(err, errsz, "dropping to user %s: still root",
		    pu->name);
		return -1;
	}
	/* setuid() resets it; keep workers out of reach of ptrace. */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	return 0;
}
