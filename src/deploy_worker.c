/*-------------------------------------------------------------------------
 *
 * deploy_worker.c
 *	  CALL migrate.deploy(wait => false): the deploy in a background worker.
 *
 * The caller's backend (the launcher) starts a dynamic background worker
 * and waits only until the deploy has begun; the worker carries it on
 * after the caller returns or disconnects.  The design is pg_background's
 * and pg_cron's background-worker mode:
 *
 * - A dynamic shared memory segment holds the deploy's arguments and a
 *	 message queue (shm_mq) from the worker to the launcher.  The worker
 *	 sends everything its client would see down that queue
 *	 (pq_redirect_to_shm_mq): NOTICEs, and the error that ends it, if any.
 * - The worker connects to the caller's database as the caller's session
 *	 user, takes the caller's current role (SET ROLE, which needs the same
 *	 membership the caller has), and runs "CALL migrate.deploy(...)" at top
 *	 level (toplevel.c), so the deploy is exactly the foreground one of
 *	 deploy.c.  It has no more rights
 *	 than the caller: a deploy checks that its user may act as every
 *	 registrant, and runs each migration as its registrant.
 * - As soon as the deploy holds its locks and has made and checked its
 *	 plan, the worker sends a message of its own ('M', the run id); the
 *	 launcher, which until then relays the worker's NOTICEs and rethrows
 *	 its error (another deploy running, a role check, a dependency cycle),
 *	 acknowledges it in the shared memory, detaches and returns the run
 *	 id.  The worker starts no migration before that acknowledgement: a
 *	 launcher cancelled in between stops the worker instead, and its
 *	 client is told that the deploy did not begin.  What the worker says afterwards goes
 *	 to the server log only; migrate.history, status() and migrate.activity
 *	 follow the deploy, and its run lock (lock.c) tells status() whether it
 *	 still runs.
 *
 * The worker's settings are those of a new session of its role in its
 * database, not the caller's.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "libpq/pqformat.h"
#include "libpq/pqmq.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "port/atomics.h"
#include "storage/dsm.h"
#include "storage/latch.h"
#include "storage/procarray.h"
#include "storage/shm_mq.h"
#include "storage/shm_toc.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/wait_event.h"

#include "deploy_worker.h"
#include "toplevel.h"

PGDLLEXPORT void migrate_deploy_worker_main(Datum main_arg);

#define DEPLOY_WORKER_MAGIC 0x6d696772	/* "migr" */
#define DEPLOY_QUEUE_SIZE	16384

/* The message that says the deploy has begun. */
#define DEPLOY_BEGUN_MSG	'M'

/* What the launcher tells the worker, in the shared memory segment. */
typedef struct DeployWorkerArgs
{
	pg_atomic_uint32 acknowledged;	/* the launcher has the run id */
	int			launcher_pid;
	Oid			database;
	Oid			session_user;
	Oid			current_user;
	bool		revert;
	int			steps;
	bool		has_target;
	bool		has_project;
	bool		out_of_order;
	int			retries;
	char		target[256];	/* a version is at most 255 bytes */
	char		project[NAMEDATALEN];
	char		lock_timeout[32];
} DeployWorkerArgs;

/* Whether this backend is a deploy's background worker, and its queue. */
static bool in_worker = false;
static shm_mq_handle *worker_queue = NULL;
static DeployWorkerArgs *worker_args = NULL;

static void relay(shm_mq_handle *mqh, int64 *run_id);
static void caller_left(void) pg_attribute_noreturn();

/*
 * migrate_deploy_launch
 *		Starts a background worker deploying as options say, waits until
 *		the deploy has begun, and returns its run id.  An error of the
 *		deploy before that point is rethrown here.
 */
int64
migrate_deploy_launch(const DeployOptions *options)
{
	shm_toc_estimator e;
	Size		size;
	dsm_segment *seg;
	shm_toc    *toc;
	DeployWorkerArgs *args;
	shm_mq	   *mq;
	shm_mq_handle *mqh;
	BackgroundWorker worker = {0};
	BackgroundWorkerHandle *handle;
	int64		run_id = 0;

	shm_toc_initialize_estimator(&e);
	shm_toc_estimate_chunk(&e, sizeof(DeployWorkerArgs));
	shm_toc_estimate_chunk(&e, DEPLOY_QUEUE_SIZE);
	shm_toc_estimate_keys(&e, 2);
	size = shm_toc_estimate(&e);

	seg = dsm_create(size, 0);
	toc = shm_toc_create(DEPLOY_WORKER_MAGIC, dsm_segment_address(seg), size);

	args = shm_toc_allocate(toc, sizeof(DeployWorkerArgs));
	memset(args, 0, sizeof(DeployWorkerArgs));
	pg_atomic_init_u32(&args->acknowledged, 0);
	args->launcher_pid = MyProcPid;
	args->database = MyDatabaseId;
	args->session_user = GetSessionUserId();
	args->current_user = GetUserId();
	args->revert = options->revert;
	args->steps = options->steps;
	args->has_target = options->target != NULL;
	if (options->target)
		strlcpy(args->target, options->target, sizeof(args->target));
	args->has_project = options->project != NULL;
	if (options->project)
		strlcpy(args->project, options->project, sizeof(args->project));
	strlcpy(args->lock_timeout, options->lock_timeout,
			sizeof(args->lock_timeout));
	args->retries = options->retries;
	args->out_of_order = options->out_of_order;
	shm_toc_insert(toc, 0, args);

	mq = shm_mq_create(shm_toc_allocate(toc, DEPLOY_QUEUE_SIZE),
					   DEPLOY_QUEUE_SIZE);
	shm_toc_insert(toc, 1, mq);
	shm_mq_set_receiver(mq, MyProc);

	worker.bgw_flags = BGWORKER_SHMEM_ACCESS |
		BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_ConsistentState;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(worker.bgw_library_name, "migrate", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "migrate_deploy_worker_main",
			BGW_MAXLEN);
	snprintf(worker.bgw_name, BGW_MAXLEN, "migrate deploy for process %d",
			 MyProcPid);
	strlcpy(worker.bgw_type, "migrate deploy", BGW_MAXLEN);
	worker.bgw_main_arg = UInt32GetDatum(dsm_segment_handle(seg));
	worker.bgw_notify_pid = MyProcPid;

	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("could not start a background worker for the deploy"),
				 errhint("Every slot of max_worker_processes may be taken; call migrate.deploy() with wait => true, or raise max_worker_processes.")));

	mqh = shm_mq_attach(mq, seg, handle);
	PG_TRY();
	{
		relay(mqh, &run_id);
	}
	PG_CATCH();
	{
		/*
		 * The deploy's own error, or ours (a cancel, a timeout): either way
		 * the caller is told the deploy did not begin, so it must not.  It
		 * waits for our acknowledgement before its first migration.
		 */
		TerminateBackgroundWorker(handle);
		PG_RE_THROW();
	}
	PG_END_TRY();

	/*
	 * From here the caller is told the deploy began: say so to the worker,
	 * with nothing in between that could throw.
	 */
	HOLD_INTERRUPTS();
	pg_atomic_write_u32(&args->acknowledged, 1);
	SetLatch(&shm_mq_get_sender(mq)->procLatch);
	RESUME_INTERRUPTS();
	dsm_detach(seg);
	return run_id;
}

/*
 * Relays the worker's messages until it says the deploy has begun (sets
 * *run_id) or ends: its NOTICEs are raised here, its error is rethrown.
 */
static void
relay(shm_mq_handle *mqh, int64 *run_id)
{
	for (;;)
	{
		Size		nbytes;
		void	   *data;
		StringInfoData msg;
		char		msgtype;

		if (shm_mq_receive(mqh, &nbytes, &data, false) != SHM_MQ_SUCCESS)
			ereport(ERROR,
					(errcode(ERRCODE_CONNECTION_FAILURE),
					 errmsg("the background worker of the deploy exited before the deploy began"),
					 errhint("The server log may say why.")));

		initStringInfo(&msg);
		appendBinaryStringInfo(&msg, data, nbytes);
		msgtype = pq_getmsgbyte(&msg);
		if (msgtype == DEPLOY_BEGUN_MSG)
		{
			*run_id = pq_getmsgint64(&msg);
			return;
		}
		if (msgtype == 'E' || msgtype == 'N')
		{
			ErrorData	edata;

			pq_parse_errornotice(&msg, &edata);
			/* the worker's FATAL is our ERROR */
			edata.elevel = Min(edata.elevel, ERROR);
			ThrowErrorData(&edata);
		}
		/* anything else a client would get: not for us */
		pfree(msg.data);
	}
}

/*
 * migrate_deploy_worker_begun
 *		In a deploy's background worker, tells the launcher that the deploy
 *		has begun; nothing elsewhere.  If the launcher has gone (cancelled
 *		while it waited), the deploy stops here, before any migration: its
 *		caller was told it did not begin.
 */
void
migrate_deploy_worker_begun(int64 run_id)
{
	StringInfoData msg;

	if (!in_worker)
		return;
	initStringInfo(&msg);
	pq_sendbyte(&msg, DEPLOY_BEGUN_MSG);
	pq_sendint64(&msg, run_id);
	/* as the redirected protocol messages go: the type, then the data */
	if (shm_mq_send(worker_queue, msg.len, msg.data, false, true) !=
		SHM_MQ_SUCCESS)
		caller_left();
	pfree(msg.data);

	/*
	 * Nothing starts before the caller knows: it may be cancelled while the
	 * message is on its way, and then it stops us (SIGTERM) and tells its
	 * client that the deploy did not begin.
	 */
	while (pg_atomic_read_u32(&worker_args->acknowledged) == 0)
	{
		CHECK_FOR_INTERRUPTS();
		if (BackendPidGetProc(worker_args->launcher_pid) == NULL)
			caller_left();
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 100L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/* The worker's end when its caller is gone before the deploy began. */
static void
caller_left(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_CONNECTION_FAILURE),
			 errmsg("the caller of the deploy left before it began")));
}

/*
 * migrate_deploy_worker_main
 *		The background worker: connects as the caller and runs the
 *		deploy at top level.  An error ends the worker (FATAL, as in every
 *		background worker), after the deploy recorded what it did.
 */
void
migrate_deploy_worker_main(Datum main_arg)
{
	dsm_segment *seg;
	shm_toc    *toc;
	DeployWorkerArgs *args;
	shm_mq	   *mq;
	StringInfoData sql;

	/* like a client backend: terminate and cancel at safe points */
	pqsignal(SIGTERM, die);
	pqsignal(SIGINT, StatementCancelHandler);
	BackgroundWorkerUnblockSignals();

	seg = dsm_attach(DatumGetUInt32(main_arg));
	if (seg == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("could not map the shared memory of a deploy")));
	toc = shm_toc_attach(DEPLOY_WORKER_MAGIC, dsm_segment_address(seg));
	if (toc == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("bad magic number in the shared memory of a deploy")));
	args = shm_toc_lookup(toc, 0, false);
	worker_args = args;
	mq = shm_toc_lookup(toc, 1, false);
	shm_mq_set_sender(mq, MyProc);
	worker_queue = shm_mq_attach(mq, seg, NULL);
	pq_redirect_to_shm_mq(seg, worker_queue);

	BackgroundWorkerInitializeConnectionByOid(args->database,
											  args->session_user, 0);
	in_worker = true;

	StartTransactionCommand();
	/* the CALL's parse tree and plan outlive the deploy's commits */
	MemoryContextSwitchTo(AllocSetContextCreate(TopMemoryContext,
												"migrate deploy worker",
												ALLOCSET_DEFAULT_SIZES));
	if (args->current_user != args->session_user)
		(void) set_config_option("role",
								 GetUserNameFromId(args->current_user, false),
								 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SET,
								 true, 0, false);

	initStringInfo(&sql);
	if (!args->revert)
		appendStringInfo(&sql, "CALL migrate.deploy(target => %s, project => %s, "
						 "out_of_order => %s, ",
						 args->has_target ? quote_literal_cstr(args->target) : "NULL",
						 args->has_project ? quote_literal_cstr(args->project) : "NULL",
						 args->out_of_order ? "true" : "false");
	else if (args->has_target)
		appendStringInfo(&sql, "CALL migrate.deploy_rollback_to(%s, %s, ",
						 quote_literal_cstr(args->target),
						 quote_literal_cstr(args->project));
	else if (args->steps == INT_MAX)
		appendStringInfo(&sql, "CALL migrate.deploy_rollback_all(%s, ",
						 quote_literal_cstr(args->project));
	else
		appendStringInfo(&sql, "CALL migrate.deploy_rollback(%d, %s, ",
						 args->steps, quote_literal_cstr(args->project));
	appendStringInfo(&sql, "lock_timeout => %s, retries => %d)",
					 quote_literal_cstr(psprintf("%s ms", args->lock_timeout)),
					 args->retries);
	debug_query_string = sql.data;
	pgstat_report_activity(STATE_RUNNING, sql.data);
	migrate_toplevel_execute(sql.data);
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
	dsm_detach(seg);
	proc_exit(0);
}
