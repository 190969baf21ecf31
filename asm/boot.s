/*
 * boot.s - Actly image entry: arm64 Image header, EL2 -> EL1 drop, identity
 * map + MMU, exception vectors, per-core stacks and PSCI bring-up of the
 * secondary cores.  Every core ends in runtime_main (runtime.s).
 *
 * Boot order on core 0: mask DAIF, leave EL2 if entered there, zero .bss,
 * record entry EL and PSCI conduit, build the translation table, invalidate
 * stale cache lines over .bss, MMU + caches on, stack, vectors, UART init,
 * PSCI CPU_ON for Aff0 = 1..7, publish the number of running cores,
 * runtime_main.  No exclusive or atomic access happens before the MMU is on.
 */
    .include "macros.inc"
    .include "board.inc"
    .include "scheduler.inc"
    .include "process.inc"

    NO_EXEC_STACK

/* ---- arm64 Linux Image header ---- */
.equ IMAGE_TEXT_OFFSET,     0x80000         /* load 512 KiB above a 2 MiB base */
.equ IMAGE_FLAG_LE,         (0 << 0)        /* little-endian kernel */
.equ IMAGE_FLAG_PAGE_4K,    (1 << 1)        /* 4 KiB pages */
.equ IMAGE_FLAG_ANYWHERE,   (1 << 3)        /* 2 MiB base may be anywhere in RAM */
.equ IMAGE_FLAGS,           (IMAGE_FLAG_LE | IMAGE_FLAG_PAGE_4K | IMAGE_FLAG_ANYWHERE)
.equ IMAGE_RESERVED,        0
.equ IMAGE_MAGIC,           0x644d5241      /* "ARM\x64", little-endian */
.equ IMAGE_HEADER_SIZE,     64
.equ IMAGE_MAGIC_OFFSET,    0x38
.equ IMAGE_CODE_BYTES,      8               /* code0 + code1 */

/* ---- Exception levels and PSTATE ---- */
.equ CURRENTEL_EL_SHIFT,    2               /* CurrentEL.EL is bits [3:2] */
.equ EL1,                   1
.equ EL2,                   2
.equ DAIF_ALL,              0xf             /* daifset/daifclr immediate: D, A, I, F */

.equ SPSR_M_EL1H,           0x5             /* EL1 using SP_EL1 */
.equ SPSR_DAIF_MASKED,      (0xf << 6)
.equ SPSR_EL2_TO_EL1,       (SPSR_DAIF_MASKED | SPSR_M_EL1H)

/* ---- EL2 controls used when dropping to EL1 ---- */
.equ HCR_EL2_RW,            (1 << 31)       /* EL1 is AArch64; all other bits 0: no traps, no stage 2, E2H = 0 */
.equ HCR_EL2_VALUE,         HCR_EL2_RW
.equ CNTHCTL_EL1PCTEN,      (1 << 0)        /* EL1 may read the physical counter */
.equ CNTHCTL_EL1PCEN,       (1 << 1)        /* EL1 may use the physical timer */
.equ CPTR_EL2_RES1,         0x32ff          /* RES1 bits; TFP = TZ = 0: no FP/SIMD/SVE traps */

/* ---- EL1 controls ---- */
.equ CPACR_EL1_FPEN_NO_TRAP,   (3 << 20)       /* FP/SIMD usable at EL1 and EL0 */

.equ SCTLR_EL1_M,           (1 << 0)        /* stage 1 MMU */
.equ SCTLR_EL1_C,           (1 << 2)        /* data caches */
.equ SCTLR_EL1_SA,          (1 << 3)        /* SP alignment check at EL1 */
.equ SCTLR_EL1_I,           (1 << 12)       /* instruction caches */
/* Bits 11, 20, 22, 23, 28, 29: RES1 in ARMv8.0, "legacy behaviour" value later. */
.equ SCTLR_EL1_RES1,        ((1 << 11) | (1 << 20) | (1 << 22) | (1 << 23) | (1 << 28) | (1 << 29))
.equ SCTLR_EL1_MMU_OFF,     SCTLR_EL1_RES1  /* little-endian, MMU and caches off */
.equ SCTLR_EL1_MMU_ON,      (SCTLR_EL1_RES1 | SCTLR_EL1_M | SCTLR_EL1_C | SCTLR_EL1_SA | SCTLR_EL1_I)

/* MAIR_EL1: attribute index 0 = Device-nGnRE, index 1 = Normal WB RW-allocate. */
.equ MAIR_DEVICE_NGNRE,     0x04
.equ MAIR_NORMAL_WB,        0xff
.equ MT_DEVICE_IDX,         0
.equ MT_NORMAL_IDX,         1
.equ MAIR_ATTR_BITS,        8
.equ MAIR_EL1_VALUE,        ((MAIR_DEVICE_NGNRE << (MT_DEVICE_IDX * MAIR_ATTR_BITS)) | (MAIR_NORMAL_WB << (MT_NORMAL_IDX * MAIR_ATTR_BITS)))

/* TCR_EL1: 39-bit VA (512 GiB, walk starts at level 1), 4 KiB granule. */
.equ VA_BITS,               39
.equ TCR_T0SZ,              ((64 - VA_BITS) << 0)
.equ TCR_IRGN0_WBWA,        (1 << 8)        /* table walks: inner write-back */
.equ TCR_ORGN0_WBWA,        (1 << 10)       /* table walks: outer write-back */
.equ TCR_SH0_INNER,         (3 << 12)       /* table walks: inner shareable */
.equ TCR_TG0_4K,            (0 << 14)
.equ TCR_T1SZ,              ((64 - VA_BITS) << 16)
.equ TCR_EPD1,              (1 << 23)       /* no TTBR1 walks: upper half unused */
.equ TCR_IPS_SHIFT,         32
.equ TCR_IPS_WIDTH,         3
.equ TCR_IPS_48BIT,         5               /* widest IPS for 4 KiB pages without LPA2 */
.equ TCR_EL1_BASE,          (TCR_T0SZ | TCR_IRGN0_WBWA | TCR_ORGN0_WBWA | TCR_SH0_INNER | TCR_TG0_4K | TCR_T1SZ | TCR_EPD1)
.equ ID_MMFR0_PARANGE_SHIFT, 0
.equ ID_MMFR0_PARANGE_WIDTH, 4

/* Level-1 block descriptors (1 GiB each). */
.equ L1_BLOCK_SHIFT,        30
.equ L1_BLOCK_SIZE,         (1 << L1_BLOCK_SHIFT)
.equ L1_ENTRIES,            (1 << (VA_BITS - L1_BLOCK_SHIFT))
.equ PTE_BYTES,             8
.equ PTE_BYTES_SHIFT,       3
.equ PAGE_SIZE,             4096
.equ PTE_TYPE_BLOCK,        0x1             /* valid, block */
.equ PTE_ATTRINDX_SHIFT,    2
.equ PTE_AP_EL1_RW,         (0 << 6)
.equ PTE_SH_INNER,          (3 << 8)
.equ PTE_AF,                (1 << 10)       /* pre-set: no access-flag faults */
.equ PTE_PXN,               (1 << 53)
.equ PTE_UXN,               (1 << 54)
.equ PTE_DEVICE_BLOCK,      (PTE_TYPE_BLOCK | (MT_DEVICE_IDX << PTE_ATTRINDX_SHIFT) | PTE_AP_EL1_RW | PTE_AF | PTE_PXN | PTE_UXN)
.equ PTE_NORMAL_BLOCK,      (PTE_TYPE_BLOCK | (MT_NORMAL_IDX << PTE_ATTRINDX_SHIFT) | PTE_AP_EL1_RW | PTE_SH_INNER | PTE_AF | PTE_UXN)

/* Level-2 blocks (2 MiB) and level-3 pages, for the process stack pool only:
   its guard pages must be unmapped, which 1 GiB blocks cannot express. */
.equ L2_BLOCK_SHIFT,        21
.equ L2_BLOCK_SIZE,         (1 << L2_BLOCK_SHIFT)
.equ TABLE_ENTRIES,         512
.equ TABLE_INDEX_BITS,      9
.equ PTE_TYPE_TABLE,        0x3             /* valid, next-level table */
.equ PTE_TYPE_PAGE,         0x3             /* valid, level-3 page */
.equ PTE_NORMAL_PAGE,       ((PTE_NORMAL_BLOCK & ~PTE_TYPE_BLOCK) | PTE_TYPE_PAGE)
.equ POOL_L3_TABLES,        (PROC_STACK_POOL_SIZE >> L2_BLOCK_SHIFT)
.if (PROC_STACK_POOL_SIZE & (L2_BLOCK_SIZE - 1)) || (PROC_GUARD_SIZE != PAGE_SIZE) || (PROC_STACK_SIZE != PAGE_SIZE)
    .error "boot_map_stack_pool maps whole 2 MiB blocks of slots of one guard page and one stack page"
.endif

.equ DEVICE_FIRST_BLOCK,    (BOARD_DEVICE_BASE >> L1_BLOCK_SHIFT)
.equ DEVICE_BLOCKS,         (BOARD_DEVICE_SIZE >> L1_BLOCK_SHIFT)
.equ RAM_FIRST_BLOCK,       (BOARD_RAM_BASE >> L1_BLOCK_SHIFT)
.equ RAM_BLOCKS,            (BOARD_RAM_MAP_SIZE >> L1_BLOCK_SHIFT)
.if (DEVICE_BLOCKS != 1) || (BOARD_MMIO_START & (L2_BLOCK_SIZE - 1))
    .error "boot maps one device GiB, from a 2 MiB aligned BOARD_MMIO_START"
.endif
.if (DEVICE_FIRST_BLOCK + DEVICE_BLOCKS > L1_ENTRIES) || (RAM_FIRST_BLOCK + RAM_BLOCKS > L1_ENTRIES)
    .error "board memory map does not fit the VA_BITS identity map"
.endif

/* Cache geometry: CTR_EL0.DminLine = log2(words) of the smallest D-line. */
.equ CTR_DMINLINE_SHIFT,    16
.equ CTR_DMINLINE_WIDTH,    4
.equ WORD_BYTES,            4
.equ U64_BYTES,             8

/* ---- Cores, stacks, PSCI ---- */
.equ STACK_SIZE,            16384           /* per core */
.equ STACK_ALIGN,           16
.equ BOOT_CORE_INDEX,       0
.equ FIRST_SECONDARY_AFF0,  1
.equ MPIDR_AFF_UPPER_MASK,  0xff00ffff00    /* Aff3, Aff2, Aff1: our cluster */

.equ PSCI_CPU_ON_64,        0xc4000003
.equ PSCI_SUCCESS,          0
.equ PSCI_CONDUIT_HVC,      1               /* entered at EL1: firmware/hypervisor at EL2 */
.equ PSCI_CONDUIT_SMC,      2               /* entered at EL2: firmware at EL3 */
.equ SMCCC_IMM,             0

/* ---- Exception vector table ---- */
.equ VECTOR_TABLE_ALIGN,    2048
.equ VECTOR_ENTRIES,        16
.equ VECTOR_ENTRY_SIZE,     0x80


/* ======================================================================== */
    .section .text.boot, "ax"

/*
 * _start - image entry point, at offset 0 of the image.  Its two words are
 * the header's code0 (branch to the real entry) and code1; the rest of the
 * 64-byte Image header follows as data.
 * Entered by the loader with MMU off, at EL1 or EL2, x0 = DTB (unused).
 * Not callable: no caller, no stack, never returns.
 */
FUNC _start
    b       boot_primary_entry              /* code0 */
    nop                                     /* code1 */
ENDFUNC _start

/*
 * The .org directives pin the header fields to their protocol offsets: the
 * assembler fails ("move .org backwards") if anything before them grows.
 */
LOBJECT image_header_rest, WORD_BYTES
    .org    _start + IMAGE_CODE_BYTES
    .quad   IMAGE_TEXT_OFFSET               /* text_offset */
    .quad   __image_size                    /* image_size, .bss included (link.ld) */
    .quad   IMAGE_FLAGS                     /* flags */
    .quad   IMAGE_RESERVED                  /* res2 */
    .quad   IMAGE_RESERVED                  /* res3 */
    .quad   IMAGE_RESERVED                  /* res4 */
    .org    _start + IMAGE_MAGIC_OFFSET
    .long   IMAGE_MAGIC                     /* magic */
    .long   IMAGE_RESERVED                  /* res5 (PE header offset: none) */
    .org    _start + IMAGE_HEADER_SIZE
ENDOBJECT image_header_rest

/* ======================================================================== */
    .text

/*
 * boot_primary_entry - core 0's boot path (see the file comment).
 * In: x0 = DTB from the loader (ignored).  Never returns.
 * Register use: x19 = EL at entry, kept across the leaf helpers below,
 * which are all stackless and touch only x0-x15 and x30.
 */
LFUNC boot_primary_entry
    msr     daifset, #DAIF_ALL              /* no exceptions until vectors are in */
    mrs     x19, CurrentEL
    lsr     x19, x19, #CURRENTEL_EL_SHIFT
    bl      boot_drop_to_el1                /* now at EL1, MMU off */

    /* Zero .bss (page aligned and page sized, link.ld). MMU is off, so these
     * stores go straight to memory. */
    LOAD_ADDR x0, __bss_start
    LOAD_ADDR x1, __bss_end
.Lboot_primary_entry_zero:
    cmp     x0, x1
    b.hs    .Lboot_primary_entry_zeroed
    stp     xzr, xzr, [x0], #REG_PAIR_BYTES
    b       .Lboot_primary_entry_zero
.Lboot_primary_entry_zeroed:

    bl      boot_build_tables
    bl      boot_map_stack_pool

    /* Everything in .bss was written with caches off; drop any stale lines
     * an earlier loader may have left so the cached view matches memory. */
    LOAD_ADDR x0, __bss_start
    LOAD_ADDR x1, __bss_end
    bl      boot_inval_dcache_range

    bl      boot_mmu_on

    /* Record the entry EL and the PSCI conduit it implies: stored once the
     * MMU is on, past the invalidation, so the boot path's proof (its hand-off
     * in specs/boot.py) states them where nothing changes them again. */
    LOAD_ADDR x0, boot_entry_el
    str     x19, [x0]
    mov     x1, #PSCI_CONDUIT_HVC
    mov     x2, #PSCI_CONDUIT_SMC
    cmp     x19, #EL2
    csel    x1, x2, x1, eq
    LOAD_ADDR x0, boot_psci_conduit
    str     x1, [x0]

    mov     x0, #BOOT_CORE_INDEX
    bl      boot_core_stack_top
    mov     sp, x0
    mov     x0, #BOOT_CORE_INDEX
    msr     tpidr_el1, x0                   /* core index, read by the exception handler */
    LOAD_ADDR x0, vectors
    msr     vbar_el1, x0
    isb                                     /* VBAR_EL1 write takes effect before any exception can be taken */

    bl      board_uart_init
    bl      boot_start_secondaries          /* x0 = cores running, core 0 included */

    /* Publish the core count for the rendezvous in runtime_main. */
    LOAD_ADDR x1, boot_cores_started
    stlr    x0, [x1]                        /* release: boot state written above is visible before the count */
    dsb     ish                             /* count visible to all cores before the event below wakes them */
    sev                                     /* wake secondaries waiting in WFE for the count */

    mov     x0, #BOOT_CORE_INDEX
    bl      runtime_main                    /* does not return */
.Lboot_primary_entry_park:
    wfe                                     /* park: sleep between events, forever */
    b       .Lboot_primary_entry_park
ENDLFUNC boot_primary_entry

/*
 * secondary_entry - first instruction of a secondary core started by PSCI
 * CPU_ON.  MMU off, EL1 or EL2 (PSCI starts cores at the highest non-secure
 * EL), x0 = context id = core index given by boot_start_secondaries.
 * Reuses the translation table core 0 built; reads no memory before its
 * own MMU is on (core 0's later writes are only in coherent caches).
 * Not callable: no caller, no stack, never returns.
 */
FUNC secondary_entry
    msr     daifset, #DAIF_ALL              /* no exceptions until vectors are in */
    mov     x19, x0                         /* core index; leaf helpers keep x19 */
    bl      boot_drop_to_el1
    cmp     x19, #MAX_CORES
    b.hs    .Lsecondary_entry_park          /* no stack for it: never happens with our CPU_ON loop */
    bl      boot_mmu_on
    mov     x0, x19
    bl      boot_core_stack_top
    mov     sp, x0
    msr     tpidr_el1, x19                  /* core index, read by the exception handler */
    LOAD_ADDR x0, vectors
    msr     vbar_el1, x0
    isb                                     /* VBAR_EL1 write takes effect before any exception can be taken */
    mov     x0, x19
    bl      runtime_main                    /* does not return */
.Lsecondary_entry_park:
    wfe                                     /* park: sleep between events, forever */
    b       .Lsecondary_entry_park
ENDFUNC secondary_entry

/*
 * boot_drop_to_el1 - if running at EL2, configure a plain AArch64 EL1 and
 * "return" to the caller at EL1 via eret; at EL1, just return.  Any other
 * EL is unsupported and parks the core.
 * Stackless leaf. In: x30 = return address.  Clobbers: x9, flags.
 */
LFUNC boot_drop_to_el1
    mrs     x9, CurrentEL
    lsr     x9, x9, #CURRENTEL_EL_SHIFT
    cmp     x9, #EL1
    b.eq    .Lboot_drop_to_el1_done
    cmp     x9, #EL2
    b.ne    .Lboot_drop_to_el1_park

    MOV64   x9, HCR_EL2_VALUE
    msr     hcr_el2, x9
    mrs     x9, cnthctl_el2
    orr     x9, x9, #(CNTHCTL_EL1PCTEN | CNTHCTL_EL1PCEN)
    msr     cnthctl_el2, x9
    msr     cntvoff_el2, xzr                /* virtual counter == physical counter */
    mrs     x9, midr_el1                    /* EL1 reads of MIDR/MPIDR return these copies */
    msr     vpidr_el2, x9
    mrs     x9, mpidr_el1
    msr     vmpidr_el2, x9
    MOV64   x9, CPTR_EL2_RES1
    msr     cptr_el2, x9
    mov     x9, #ICC_SRE_EL2_VALUE          /* EL1 may use the GIC's system registers */
    msr     icc_sre_el2, x9
    MOV64   x9, SCTLR_EL1_MMU_OFF
    msr     sctlr_el1, x9
    MOV64   x9, SPSR_EL2_TO_EL1
    msr     spsr_el2, x9
    msr     elr_el2, x30
    eret                                    /* context synchronising: the writes above apply from here */
.Lboot_drop_to_el1_done:
    ret
.Lboot_drop_to_el1_park:
    wfe                                     /* park: unsupported EL, sleep forever */
    b       .Lboot_drop_to_el1_park
ENDLFUNC boot_drop_to_el1

/*
 * boot_build_tables - fill boot_l1_table (already zeroed) with the identity
 * map: the board's MMIO window as Device-nGnRE 2 MiB blocks from
 * BOARD_MMIO_START, its RAM as Normal write-back inner-shareable 1 GiB
 * blocks; every other entry stays invalid.
 * Stackless leaf, MMU off.  Clobbers: x0-x4, flags.
 */
LFUNC boot_build_tables
    LOAD_ADDR x0, boot_l1_table
    mov     x4, #L1_BLOCK_SIZE

    /* The device GiB in 2 MiB blocks from BOARD_MMIO_START: below it (the flash, and
       address 0) stays unmapped, so a null pointer faults. */
    LOAD_ADDR x1, boot_device_l2_table
    orr     x2, x1, #PTE_TYPE_TABLE
    str     x2, [x0, #(DEVICE_FIRST_BLOCK << PTE_BYTES_SHIFT)]
    add     x1, x1, #((BOARD_MMIO_START >> L2_BLOCK_SHIFT) << PTE_BYTES_SHIFT)
    MOV64   x2, (BOARD_MMIO_START | PTE_DEVICE_BLOCK)
    mov     x3, #((BOARD_DEVICE_BASE + L1_BLOCK_SIZE - BOARD_MMIO_START) >> L2_BLOCK_SHIFT)
.Lboot_build_tables_device:
    str     x2, [x1], #PTE_BYTES
    add     x2, x2, #L2_BLOCK_SIZE
    subs    x3, x3, #1
    b.ne    .Lboot_build_tables_device

    add     x1, x0, #(RAM_FIRST_BLOCK << PTE_BYTES_SHIFT)
    MOV64   x2, ((RAM_FIRST_BLOCK << L1_BLOCK_SHIFT) | PTE_NORMAL_BLOCK)
    mov     x3, #RAM_BLOCKS
.Lboot_build_tables_ram:
    str     x2, [x1], #PTE_BYTES
    add     x2, x2, x4
    subs    x3, x3, #1
    b.ne    .Lboot_build_tables_ram
    ret
ENDLFUNC boot_build_tables

/*
 * boot_map_stack_pool - remap the 1 GiB block holding proc_stack_pool
 * (process.s) through a level-2 table of 2 MiB blocks, and the pool itself
 * through level-3 tables of pages, leaving each slot's guard page
 * unmapped: a process that overflows its stack faults instead of writing
 * into its neighbour.  After boot_build_tables, MMU off; the tables are in
 * zeroed .bss.  Stackless leaf.  Clobbers: x0-x13, flags.
 */
LFUNC boot_map_stack_pool
    LOAD_ADDR x0, proc_stack_pool
    LOAD_ADDR x1, boot_l1_table
    LOAD_ADDR x2, boot_l2_table
    lsr     x3, x0, #L1_BLOCK_SHIFT
    orr     x4, x2, #PTE_TYPE_TABLE
    str     x4, [x1, x3, lsl #PTE_BYTES_SHIFT]
    lsl     x4, x3, #L1_BLOCK_SHIFT         /* the same GiB, now in 2 MiB blocks */
    MOV64   x5, PTE_NORMAL_BLOCK
    orr     x4, x4, x5
    mov     x5, x2
    mov     x6, #TABLE_ENTRIES
.Lboot_map_stack_pool_l2:
    str     x4, [x5], #PTE_BYTES
    add     x4, x4, #L2_BLOCK_SIZE
    subs    x6, x6, #1
    b.ne    .Lboot_map_stack_pool_l2
    ubfx    x6, x0, #L2_BLOCK_SHIFT, #TABLE_INDEX_BITS
    add     x5, x2, x6, lsl #PTE_BYTES_SHIFT /* the pool's first level-2 entry */
    LOAD_ADDR x7, boot_l3_tables
    mov     x8, x7
    mov     x10, #POOL_L3_TABLES
.Lboot_map_stack_pool_table:
    orr     x11, x8, #PTE_TYPE_TABLE        /* each 2 MiB of the pool: its level-3 table */
    str     x11, [x5], #PTE_BYTES
    add     x8, x8, #PAGE_SIZE
    subs    x10, x10, #1
    b.ne    .Lboot_map_stack_pool_table
    add     x8, x0, #PROC_GUARD_SIZE        /* the first stack page */
    MOV64   x9, PTE_NORMAL_PAGE
    mov     x10, #MAX_PROCS
.Lboot_map_stack_pool_slot:
    str     xzr, [x7], #PTE_BYTES           /* the guard page: invalid */
    orr     x11, x8, x9
    str     x11, [x7], #PTE_BYTES           /* the stack page */
    add     x8, x8, #PROC_STACK_SLOT
    subs    x10, x10, #1
    b.ne    .Lboot_map_stack_pool_slot
    ret
ENDLFUNC boot_map_stack_pool

/*
 * boot_inval_dcache_range - invalidate data cache lines covering [x0, x1)
 * to the point of coherency, after the range was written with caches off.
 * Stackless leaf.  In: x0 = start, x1 = end.  Clobbers: x0-x3, flags.
 */
LFUNC boot_inval_dcache_range
    mrs     x2, ctr_el0
    ubfx    x2, x2, #CTR_DMINLINE_SHIFT, #CTR_DMINLINE_WIDTH
    mov     x3, #WORD_BYTES
    lsl     x2, x3, x2                      /* x2 = line size in bytes */
    sub     x3, x2, #1
    bic     x0, x0, x3                      /* start at a line boundary */
    dsb     sy                              /* the non-cacheable stores above complete before lines are dropped */
.Lboot_inval_dcache_range_loop:
    dc      ivac, x0                        /* drop this line without writing it back */
    add     x0, x0, x2
    cmp     x0, x1
    b.lo    .Lboot_inval_dcache_range_loop
    dsb     sy                              /* invalidation completes before the MMU/caches come on */
    ret
ENDLFUNC boot_inval_dcache_range

/*
 * boot_mmu_on - program MAIR/TCR/TTBR0 for boot_l1_table and turn on the
 * MMU and both caches on the calling core; also lets EL1 use FP/SIMD.
 * Stackless leaf, EL1, MMU off.  Clobbers: x9-x11, flags.
 */
LFUNC boot_mmu_on
    mov     x9, #CPACR_EL1_FPEN_NO_TRAP
    msr     cpacr_el1, x9
    MOV64   x9, MAIR_EL1_VALUE
    msr     mair_el1, x9
    MOV64   x9, TCR_EL1_BASE
    mrs     x10, id_aa64mmfr0_el1
    ubfx    x10, x10, #ID_MMFR0_PARANGE_SHIFT, #ID_MMFR0_PARANGE_WIDTH
    mov     x11, #TCR_IPS_48BIT
    cmp     x10, x11
    csel    x10, x10, x11, ls               /* IPS = min(PARange, 48 bits) */
    bfi     x9, x10, #TCR_IPS_SHIFT, #TCR_IPS_WIDTH
    msr     tcr_el1, x9
    LOAD_ADDR x9, boot_l1_table
    msr     ttbr0_el1, x9
    dsb     sy                              /* table stores (core 0) complete before any walk */
    isb                                     /* MAIR/TCR/TTBR0 writes in effect before the TLB flush and SCTLR write */
    tlbi    vmalle1                         /* drop EL1&0 TLB entries a loader may have left (this core only) */
    ic      iallu                           /* drop stale instructions from this core's I-cache */
    dsb     nsh                             /* TLB and I-cache invalidation complete on this core */
    isb                                     /* refetch after the invalidation */
    MOV64   x9, SCTLR_EL1_MMU_ON
    msr     sctlr_el1, x9
    isb                                     /* following instructions run with MMU and caches on */
    ret
ENDLFUNC boot_mmu_on

/*
 * boot_core_stack_top - x0 = initial sp for core index x0 (< MAX_CORES).
 * Stackless leaf.  Clobbers: x0-x2.
 */
LFUNC boot_core_stack_top
    LOAD_ADDR x1, boot_stacks
    add     x0, x0, #1                      /* stacks grow down from the top of the slot */
    mov     x2, #STACK_SIZE
    madd    x0, x0, x2, x1
    ret
ENDLFUNC boot_core_stack_top

/*
 * boot_start_secondaries - PSCI CPU_ON every MPIDR with Aff0 = 1..7 in our
 * cluster.  A core that does not exist makes CPU_ON return an error and is
 * skipped; successful starts get consecutive core indices 1, 2, ... passed
 * as the PSCI context id.
 * AAPCS64 (local).  Out: x0 = number of cores running, core 0 included.
 */
LFUNC boot_start_secondaries
    PUSH2   x29, x30
    mov     x29, sp
    PUSH2   x19, x20
    PUSH2   x21, x22
    mrs     x21, mpidr_el1
    MOV64   x0, MPIDR_AFF_UPPER_MASK
    and     x21, x21, x0                    /* our Aff3..Aff1, Aff0 = 0 */
    mov     x19, #FIRST_SECONDARY_AFF0
    mov     x20, #(BOOT_CORE_INDEX + 1)     /* cores running so far */
.Lboot_start_secondaries_loop:
    cmp     x19, #MAX_CORES
    b.hs    .Lboot_start_secondaries_done
    MOV64   x0, PSCI_CPU_ON_64
    orr     x1, x21, x19                    /* target MPIDR */
    LOAD_ADDR x2, secondary_entry           /* entry: physical == virtual (identity map) */
    mov     x3, x20                         /* context id = its core index */
    bl      psci_call
    cmp     w0, #PSCI_SUCCESS
    b.ne    .Lboot_start_secondaries_next
    add     x20, x20, #1
.Lboot_start_secondaries_next:
    add     x19, x19, #1
    b       .Lboot_start_secondaries_loop
.Lboot_start_secondaries_done:
    mov     x0, x20
    POP2    x21, x22
    POP2    x19, x20
    POP2    x29, x30
    ret
ENDLFUNC boot_start_secondaries

/*
 * psci_call - issue an SMCCC/PSCI call through the conduit recorded at
 * boot (HVC if the image was entered at EL1, SMC if entered at EL2).
 * In: x0 = function id, x1-x3 = arguments.  Out: x0 = PSCI return value.
 * Clobbers: x0-x17 (SMCCC allows the firmware to), flags.
 * Ordering: HVC/SMC are not barriers; callers that need earlier stores seen
 * by the firmware or another core must order them first.
 * Callable (AAPCS64).  Must not be called before boot_psci_conduit is set.
 */
FUNC psci_call
    LOAD_ADDR x9, boot_psci_conduit
    ldr     x9, [x9]
    cmp     x9, #PSCI_CONDUIT_SMC
    b.eq    .Lpsci_call_smc
    hvc     #SMCCC_IMM
    ret
.Lpsci_call_smc:
    smc     #SMCCC_IMM
    ret
ENDFUNC psci_call

/*
 * vectors - VBAR_EL1 exception vector table: 16 entries of 0x80 bytes
 * (current EL with SP_EL0, current EL with SP_ELx, lower EL AArch64, lower
 * EL AArch32; each sync, IRQ, FIQ, SError).  Processes and the scheduler
 * run at EL1t: their faults go to fault_entry and their IRQs to irq_entry
 * (yield.s).  Everything else is unexpected and goes to runtime_exception,
 * which reports and halts the core.
 * Not callable: entered by the hardware on an exception.
 * Own section, so its 2 KiB alignment pads only in front of the table.
 */
    .section .text.vectors, "ax"
FUNC vectors, VECTOR_TABLE_ALIGN
    b       fault_entry                     /* current EL, SP_EL0 (EL1t): synchronous */
    .balign VECTOR_ENTRY_SIZE
    b       irq_entry                       /* current EL, SP_EL0: IRQ */
    .balign VECTOR_ENTRY_SIZE
    .rept VECTOR_ENTRIES - 2
    b       runtime_exception
    .balign VECTOR_ENTRY_SIZE
    .endr
ENDFUNC vectors


/* ======================================================================== */
    .bss

/* Level-1 translation table, built by core 0, shared by all cores. */
LOBJECT boot_l1_table, PAGE_SIZE
    .space  L1_ENTRIES * PTE_BYTES
ENDOBJECT boot_l1_table

/* The level-2 table of the device GiB (boot_build_tables). */
LOBJECT boot_device_l2_table, PAGE_SIZE
    .space  TABLE_ENTRIES * PTE_BYTES
ENDOBJECT boot_device_l2_table

/* The level-2 table of the stack pool's GiB, and the pool's level-3 tables. */
LOBJECT boot_l2_table, PAGE_SIZE
    .space  TABLE_ENTRIES * PTE_BYTES
ENDOBJECT boot_l2_table

LOBJECT boot_l3_tables, PAGE_SIZE
    .space  POOL_L3_TABLES * TABLE_ENTRIES * PTE_BYTES
ENDOBJECT boot_l3_tables

/* One STACK_SIZE stack per core, indexed by core index: the exception stack
   (SP_EL1) once the scheduler runs. */
LOBJECT boot_stacks, STACK_ALIGN
    .space  MAX_CORES * STACK_SIZE
ENDOBJECT boot_stacks

/* EL the image was entered at (1 or 2). */
LOBJECT boot_entry_el
    .space  U64_BYTES
ENDOBJECT boot_entry_el

/* PSCI_CONDUIT_HVC or PSCI_CONDUIT_SMC. */
LOBJECT boot_psci_conduit
    .space  U64_BYTES
ENDOBJECT boot_psci_conduit

/*
 * Number of cores running (core 0 + successful CPU_ON), 64-bit.  0 until
 * core 0 finished the bring-up; then written once with release semantics.
 * Readers use load-acquire.
 */
OBJECT boot_cores_started
    .space  U64_BYTES
ENDOBJECT boot_cores_started
