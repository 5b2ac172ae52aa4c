//! Request bodies: `body`, `json`, `form` and `body_file`, one of them at most.

use bytes::Bytes;

use super::check::Ctx;
use super::raw::{RawRequest, Sp};
use crate::plan::Body;
use crate::plan::escape::Escape;
use crate::plan::template::Scope;

/// The request's body, its templates compiled against `scope`; more than one kind is an error.
pub(super) fn body(ctx: &mut Ctx<'_>, r: &RawRequest, scope: &Scope<'_>) -> Body {
    let spans = [
        r.body.as_ref().map(|b| b.span()),
        r.json.as_ref().map(|j| j.span()),
        r.body_file.as_ref().map(|b| b.span()),
    ];
    if let Some(second) = spans.iter().flatten().nth(1) {
        ctx.err(
            second.clone(),
            format!(
                "request `{}` has more than one of `body`, `json` and `body_file`",
                r.name.get()
            ),
            Some("keep one body".into()),
        );
    }
    let content_type = r.content_type.clone();
    if let Some(b) = &r.body {
        Body::Template {
            text: ctx.template(b, scope),
            content_type,
        }
    } else if let Some(j) = &r.json {
        if !(j.get().is_object() || j.get().is_array()) {
            ctx.err(
                j.span(),
                "`json` must be a table or an array",
                Some(
                    "write e.g. json = { key = \"k{{ counter }}\" }, or use `body` for text".into(),
                ),
            );
        }
        let text = serde_json::to_string(j.get()).expect("JSON values serialize");
        let text = Sp(toml::Spanned::new(j.span(), text));
        Body::Template {
            // Every `{{ }}` in the serialised JSON sits inside a string literal.
            text: ctx.template(&text, scope).escaped(Escape::Json),
            content_type: content_type.or(Some("application/json".into())),
        }
    } else if let Some(f) = &r.body_file {
        let path = ctx.dir.join(f.get());
        match std::fs::read(&path) {
            Ok(bytes) => Body::Bytes {
                bytes: Bytes::from(bytes),
                content_type,
            },
            Err(e) => {
                ctx.err(
                    f.span(),
                    format!("cannot read body_file `{}`: {e}", f.get()),
                    Some(format!(
                        "paths are relative to the scenario's folder (`{}`)",
                        path.parent()
                            .map(|p| p.display().to_string())
                            .unwrap_or_default()
                    )),
                );
                Body::Empty
            }
        }
    } else {
        Body::Empty
    }
}
