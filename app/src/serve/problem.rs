//! What an admin request that did not succeed answers: an HTTP status and a JSON body
//! `{"error": ..., "details": [...]}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tradsys_core::config::ConfigError;
use tradsys_core::session::ChangeError;

/// A refused or failed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The status: 400, 401, 403, 404, 409, 413, 422 or 503.
    pub status: StatusCode,
    /// What went wrong, in one line.
    pub error: String,
    /// Every individual error, each naming its source and key where there is one.
    pub details: Vec<String>,
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong, in one line.
    pub error: String,
    /// Every individual error.
    pub details: Vec<String>,
}

impl Problem {
    fn new(status: StatusCode, error: impl Into<String>, details: Vec<String>) -> Problem {
        Problem { status, error: error.into(), details }
    }

    /// 400: the request is malformed or the config it makes is invalid.
    pub fn invalid(error: impl Into<String>, details: Vec<String>) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, error, details)
    }

    /// 400 listing every config error.
    #[must_use]
    pub fn config(errors: &[ConfigError]) -> Problem {
        let count = errors.len();
        Problem::invalid(
            format!("{count} error{} in the configuration; nothing was changed", if count == 1 { "" } else { "s" }),
            errors.iter().map(ToString::to_string).collect(),
        )
    }

    /// 401.
    pub fn unauthorized(error: impl Into<String>) -> Problem {
        Problem::new(StatusCode::UNAUTHORIZED, error, vec![])
    }

    /// 403: the trust model refuses it (an unapproved module).
    pub fn forbidden(error: impl Into<String>, details: Vec<String>) -> Problem {
        Problem::new(StatusCode::FORBIDDEN, error, details)
    }

    /// 404.
    pub fn unknown(error: impl Into<String>) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, error, vec![])
    }

    /// 409: the running system does not allow it.
    pub fn conflict(error: impl Into<String>, details: Vec<String>) -> Problem {
        Problem::new(StatusCode::CONFLICT, error, details)
    }

    /// 422: the request is well formed but what it carries cannot be used (a module that does
    /// not load).
    pub fn unusable(error: impl Into<String>, details: Vec<String>) -> Problem {
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, error, details)
    }

    /// 500: the server could not do what was asked (a file it could not write); nothing changed.
    pub fn internal(error: impl Into<String>) -> Problem {
        Problem::new(StatusCode::INTERNAL_SERVER_ERROR, error, vec![])
    }

    /// 503: the session is gone (it ended and shut down).
    #[must_use]
    pub fn gone() -> Problem {
        Problem::new(StatusCode::SERVICE_UNAVAILABLE, "the session has shut down", vec![])
    }

    /// The session refused a change: the status of the first error, every error listed.
    #[must_use]
    pub fn refused(errors: &[ChangeError]) -> Problem {
        let status = match errors.first() {
            Some(ChangeError::Unknown { .. }) => StatusCode::NOT_FOUND,
            Some(ChangeError::Conflict { .. }) | None => StatusCode::CONFLICT,
            Some(ChangeError::Failed(_)) => StatusCode::UNPROCESSABLE_ENTITY,
        };
        Problem::new(
            status,
            "the change was refused; the running system is exactly as it was",
            errors.iter().map(ToString::to_string).collect(),
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        (self.status, Json(ErrorBody { error: self.error, details: self.details })).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tradsys_core::component::ComponentId;
    use tradsys_core::plugin::Kind;

    #[test]
    fn a_refusal_takes_the_status_of_its_first_error_and_lists_them_all() {
        let unknown = ChangeError::Unknown { component: ComponentId::new(Kind::Strategy, "x") };
        let conflict = ChangeError::Conflict { component: "session".to_owned(), message: "closing".to_owned() };
        let problem = Problem::refused(&[unknown, conflict.clone()]);
        assert_eq!(problem.status, StatusCode::NOT_FOUND);
        assert_eq!(problem.details.len(), 2);
        assert_eq!(Problem::refused(&[conflict]).status, StatusCode::CONFLICT);
    }
}
