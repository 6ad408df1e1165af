//! Constant expressions (numbers, `vector(N)`, arithmetic and comparisons
//! between them), served by `/query` without touching a source. Grafana's
//! health check sends `vector(1)+vector(1)` and expects the vector `2`.

use super::ast::{BinOp, Expr};
use super::error::LogqlError;

/// The value of a constant expression.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Constant {
    /// Loki `resultType: "scalar"`.
    Scalar(f64),
    /// Loki `resultType: "vector"` with one label-less sample, or none
    /// (a comparison that filtered it out).
    Vector(Option<f64>),
}

/// Evaluates `expr` when it is constant; `Ok(None)` when it is not.
pub fn eval_constant(input: &str, expr: &Expr) -> Result<Option<Constant>, LogqlError> {
    Ok(match expr {
        Expr::Number { value, .. } => Some(Constant::Scalar(*value)),
        Expr::Vector { value, .. } => Some(Constant::Vector(Some(*value))),
        Expr::Binary {
            op,
            lhs,
            rhs,
            bool_modifier,
            at,
        } => {
            let (Some(l), Some(r)) = (eval_constant(input, lhs)?, eval_constant(input, rhs)?)
            else {
                return Ok(None);
            };
            Some(binary(input, *op, l, r, *bool_modifier, *at)?)
        }
        _ => None,
    })
}

fn binary(
    input: &str,
    op: BinOp,
    l: Constant,
    r: Constant,
    bool_modifier: bool,
    at: usize,
) -> Result<Constant, LogqlError> {
    if matches!(op, BinOp::And | BinOp::Or | BinOp::Unless) {
        return Err(LogqlError::unsupported(
            input,
            at,
            "set operators (and, or, unless) between constants",
        ));
    }
    let comparison = matches!(
        op,
        BinOp::Eq | BinOp::Ne | BinOp::Gt | BinOp::Ge | BinOp::Lt | BinOp::Le
    );
    let (lv, rv, vector) = match (l, r) {
        (Constant::Scalar(a), Constant::Scalar(b)) => {
            if comparison && !bool_modifier {
                return Err(LogqlError::invalid(
                    input,
                    at,
                    "comparisons between scalars must use BOOL modifier",
                ));
            }
            (Some(a), Some(b), false)
        }
        (Constant::Scalar(a), Constant::Vector(b)) => (Some(a), b, true),
        (Constant::Vector(a), Constant::Scalar(b)) => (a, Some(b), true),
        (Constant::Vector(a), Constant::Vector(b)) => (a, b, true),
    };
    let value = match (lv, rv) {
        (Some(a), Some(b)) => apply(op, a, b, comparison && !bool_modifier),
        _ => None,
    };
    Ok(if vector {
        Constant::Vector(value)
    } else {
        Constant::Scalar(value.unwrap_or(f64::NAN))
    })
}

/// `filter`: a comparison without `bool` keeps the left value or drops it.
fn apply(op: BinOp, a: f64, b: f64, filter: bool) -> Option<f64> {
    let truth = |t: bool| {
        if filter {
            t.then_some(a)
        } else {
            Some(if t { 1.0 } else { 0.0 })
        }
    };
    match op {
        BinOp::Add => Some(a + b),
        BinOp::Sub => Some(a - b),
        BinOp::Mul => Some(a * b),
        BinOp::Div => Some(a / b),
        BinOp::Mod => Some(a % b),
        BinOp::Pow => Some(a.powf(b)),
        BinOp::Eq => truth(a == b),
        BinOp::Ne => truth(a != b),
        BinOp::Gt => truth(a > b),
        BinOp::Ge => truth(a >= b),
        BinOp::Lt => truth(a < b),
        BinOp::Le => truth(a <= b),
        BinOp::And | BinOp::Or | BinOp::Unless => None,
    }
}
