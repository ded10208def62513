//! The LLVM-version-dependent calls, in one place. LLVM 14 has typed pointers (`float*`,
//! `i8*`), so a pointer's element type decides what `getelementptr` and `load` do; LLVM 15+
//! has opaque pointers, where both take the element type explicitly. Every kernel goes through
//! [`gep`], [`load`] and [`ptr_to`]; adding LLVM 15+ means giving these three functions an
//! opaque-pointer body behind inkwell's `llvm15-0`+ features (inkwell's API differs exactly
//! there), nothing else.

use inkwell::builder::{Builder, BuilderError};
use inkwell::types::{BasicType, BasicTypeEnum};
use inkwell::values::{BasicValueEnum, IntValue, PointerValue};
use inkwell::AddressSpace;

/// `&ptr[idx]` for a pointer to `elem` (the pointer already has that element type in LLVM 14).
pub fn gep<'ctx>(
    b: &Builder<'ctx>,
    _elem: BasicTypeEnum<'ctx>,
    ptr: PointerValue<'ctx>,
    idx: IntValue<'ctx>,
) -> Result<PointerValue<'ctx>, BuilderError> {
    // SAFETY (of the LLVM call): one index into a pointer of the element type; the kernels
    // index only inside the buffers the plan gives them.
    unsafe { b.build_in_bounds_gep(ptr, &[idx], "p") }
}

/// Loads an `elem` through `ptr`.
pub fn load<'ctx>(
    b: &Builder<'ctx>,
    _elem: BasicTypeEnum<'ctx>,
    ptr: PointerValue<'ctx>,
) -> Result<BasicValueEnum<'ctx>, BuilderError> {
    b.build_load(ptr, "v")
}

/// `ptr` as a pointer to `elem` (a bitcast in LLVM 14, the same value with opaque pointers).
pub fn ptr_to<'ctx>(
    b: &Builder<'ctx>,
    elem: BasicTypeEnum<'ctx>,
    ptr: PointerValue<'ctx>,
) -> Result<PointerValue<'ctx>, BuilderError> {
    b.build_pointer_cast(ptr, elem.ptr_type(AddressSpace::default()), "c")
}
