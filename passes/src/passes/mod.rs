//! The built-in passes, one file each, declared in one list ([`BUILTIN`]) that drives the
//! registry and `--list-passes`, plus the built-in named pipelines ([`BUILTIN_PIPELINES`]).

use crate::registry::{DeclaredPass, Registry};

pub(crate) mod util;

/// A built-in pass declaration: its name and how to register it.
#[derive(Clone, Copy)]
pub struct BuiltinDecl {
    /// The pass name.
    pub name: &'static str,
    /// The one-line summary.
    pub summary: &'static str,
    pub(crate) register: fn(&mut Registry),
}

impl std::fmt::Debug for BuiltinDecl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuiltinDecl").field("name", &self.name).finish()
    }
}

macro_rules! builtin_passes {
    ($($module:ident :: $ty:ident),* $(,)?) => {
        $( pub mod $module; pub use $module::$ty; )*
        /// Every built-in pass, in pipeline order of `canonicalize` where it belongs.
        pub const BUILTIN: &[BuiltinDecl] = &[$(
            BuiltinDecl {
                name: <$module::$ty as DeclaredPass>::NAME,
                summary: <$module::$ty as DeclaredPass>::SUMMARY,
                register: |r: &mut Registry| r.register_builtin::<$module::$ty>(),
            }
        ),*];
    };
}

builtin_passes! {
    infer_shapes::InferShapes,
    constant_fold::ConstantFold,
    dce::Dce,
    cse::Cse,
    remove_identity::RemoveIdentity,
    fold_batchnorm::FoldBatchNorm,
    fold_mul_add_into_conv::FoldMulAddIntoConv,
    fuse_layernorm::FuseLayerNorm,
    fuse_gelu::FuseGelu,
    fuse_hardswish::FuseHardSwish,
    fuse_hardsigmoid::FuseHardSigmoid,
    fuse_softmax::FuseSoftmax,
    fold_attention_scale::FoldAttentionScale,
    type_qdq::TypeQdq,
    realize_qdq::RealizeQdq,
    smooth_quant::SmoothQuant,
    cross_layer_equalization::CrossLayerEqualization,
}

/// The built-in named pipelines: `(name, summary, expansion)`.
pub const BUILTIN_PIPELINES: &[(&str, &str, &str)] = &[(
    "canonicalize",
    "infer types, fold constants and BatchNorm, remove no-ops, recognise fused ops, CSE, DCE",
    "infer-shapes,constant-fold,remove-identity,fold-batchnorm,fold-mul-add-into-conv,\
     fuse-layernorm,fuse-gelu,fuse-hardswish,fuse-hardsigmoid,fuse-softmax,fold-attention-scale,\
     cse,dce",
)];
