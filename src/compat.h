/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  Differences between server versions, written as the newest API in
 *	  terms of the older ones.
 *
 * migrate targets PostgreSQL 15; this file is where support for other
 * major versions goes, so the rest of the code reads as one version.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIGRATE_COMPAT_H
#define MIGRATE_COMPAT_H

#include "storage/lock.h"
#include "storage/proc.h"

#if PG_VERSION_NUM >= 170000
#include "storage/procarray.h"
#define VirtualTransactionIdGetProc(vxid) ProcNumberGetProc((vxid).procNumber)
#else
#include "storage/sinvaladt.h"
#define VirtualTransactionIdGetProc(vxid) BackendIdGetProc((vxid).backendId)
#endif

#endif							/* MIGRATE_COMPAT_H */
