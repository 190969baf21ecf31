/*
 * lock.s - the spinlock the scheduler's run queues and the process table
 * use: the print lock's idiom (uart.s) on a lock word given by the caller.
 *
 * Holders keep IRQs masked (the tick handler takes run-queue locks), so a
 * core never spins on a lock that it holds itself.
 */
    .include "macros.inc"
    .include "scheduler.inc"

    NO_EXEC_STACK
    .text

/*
 * spin_lock - take the lock word at x0 (spinning, WFE between attempts).
 * In: x0 = lock word (u32).  Out: none.  Clobbers: x1, x2, flags.
 * Ordering: acquire - the critical section stays after the LDAXR that saw
 * the lock free.  Callable (AAPCS64 leaf).
 */
FUNC spin_lock
    mov     w1, #LOCK_HELD
    sevl                                    /* the first WFE below must not sleep */
.Lspin_lock_wait:
    wfe                                     /* woken when the holder's release clears our monitor */
.Lspin_lock_try:
    ldaxr   w2, [x0]
    cmp     w2, #LOCK_FREE
    b.ne    .Lspin_lock_wait
    stxr    w2, w1, [x0]
    cbnz    w2, .Lspin_lock_try             /* lost the reservation: retry at once */
    ret
ENDFUNC spin_lock

/*
 * spin_unlock - release the lock word at x0.
 * In: x0 = lock word.  Out: none.  Clobbers: none.
 * Ordering: release - the critical section is observed before the free
 * lock; the store clears waiters' monitors and so ends their WFE.
 * Callable (AAPCS64 leaf).
 */
FUNC spin_unlock
    stlr    wzr, [x0]
    ret
ENDFUNC spin_unlock
