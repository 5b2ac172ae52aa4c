//! Scenarios from small OpenAPI documents: what each operation becomes, and that the text
//! validates as written.

use std::path::Path;

use super::*;
use crate::scenario::{Overrides, load_str};

const PETS: &str = r##"
openapi: 3.0.3
info: {title: Pet Store, version: "1.2"}
servers:
  - url: "{scheme}://pets.example.com/v1"
    variables: {scheme: {default: https}}
components:
  securitySchemes:
    token: {type: http, scheme: bearer}
  parameters:
    PetId:
      name: petId
      in: path
      required: true
      schema: {type: integer, format: int64, minimum: 1, maximum: 500}
  schemas:
    Pet:
      type: object
      required: [name, kind, owner]
      properties:
        id: {type: integer, readOnly: true}
        name: {type: string, example: "Rex {{not a template}}"}
        kind: {$ref: '#/components/schemas/Kind'}
        born: {type: string, format: date, default: "2020-01-01"}
        tags: {type: array, items: {type: string}}
        owner: {$ref: '#/components/schemas/Owner'}
    Kind: {type: string, enum: [dog, cat]}
    Owner:
      type: object
      required: [email]
      properties:
        email: {type: string, format: email}
  requestBodies:
    PetBody:
      required: true
      content:
        application/json:
          schema: {$ref: '#/components/schemas/Pet'}
paths:
  /pets:
    get:
      operationId: listPets
      summary: List   pets,
        paged
      parameters:
        - {name: limit, in: query, schema: {type: integer, default: 20}}
        - {name: cursor, in: query, schema: {type: string}}
        - {name: tag, in: query, required: true, schema: {type: array, items: {type: string}}, example: [a b, c]}
        - {name: X-Trace, in: header, required: true, schema: {type: string, format: uuid}}
        - {name: session, in: cookie, required: true, schema: {type: string}}
      responses:
        '200': {description: ok}
    post:
      operationId: create pet!
      requestBody: {$ref: '#/components/requestBodies/PetBody'}
      responses:
        201: {description: created}
        '422': {description: invalid}
        '500': {description: boom}
  /pets/{petId}:
    parameters:
      - $ref: '#/components/parameters/PetId'
    get:
      responses:
        '200': {description: ok}
        4XX: {description: missing}
    delete:
      operationId: listPets
      responses:
        '204': {description: gone}
  /pets/{petId}/photo:
    put:
      requestBody:
        required: true
        content:
          multipart/form-data:
            schema: {type: object}
      responses:
        '200': {description: ok}
  /ws:
    get:
      responses:
        '101': {description: switching}
  /notes:
    post:
      requestBody:
        content:
          text/plain:
            example: "hello"
      responses:
        '202': {description: queued}
  /login:
    post:
      requestBody:
        content:
          application/x-www-form-urlencoded:
            schema:
              type: object
              required: [user, pass]
              properties:
                user: {type: string, example: "a&b"}
                pass: {type: string}
      responses:
        '200': {description: ok}
"##;

fn generate(text: &str) -> String {
    scenario_from_openapi(
        &OpenApiSource {
            text,
            label: "pets.yaml",
        },
        None,
        None,
    )
    .unwrap()
}

fn validates(text: &str) -> toml::Table {
    load_str(text, Path::new("api.toml"), &Overrides::default(), &|_| {
        None
    })
    .unwrap_or_else(|e| panic!("{e}\n---\n{text}"));
    toml::from_str(text).unwrap()
}

fn request<'a>(doc: &'a toml::Table, name: &str) -> &'a toml::Value {
    doc["requests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no request {name}"))
}

#[test]
fn every_operation_becomes_a_request_that_validates() {
    let text = generate(PETS);
    let doc = validates(&text);
    assert_eq!(doc["name"].as_str(), Some("Pet-Store"));
    assert_eq!(
        doc["target"]["base_url"].as_str(),
        Some("https://pets.example.com/v1")
    );
    assert!(
        text.contains("# headers = { authorization = \"Bearer ${API_TOKEN}\" }"),
        "{text}"
    );
    let names: Vec<&str> = doc["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "listPets",
            "create-pet",
            "get-pets-petId",
            "listPets-2",
            "post-notes",
            "post-login"
        ]
    );

    let list = request(&doc, "listPets");
    assert_eq!(list["weight"].as_integer(), Some(3));
    assert_eq!(
        list["path"].as_str(),
        Some("/pets?limit=20&tag=a%20b&tag=c"),
        "required and defaulted query parameters; the optional cursor is left out"
    );
    assert_eq!(list["headers"]["x-trace"].as_str(), Some("{{ uuid }}"));
    assert!(list.get("expect").is_none(), "200 alone is the default");
    assert!(text.contains("# GET /pets: List pets, paged"), "{text}");
    assert!(
        text.contains("# note: cookie `session` is not set"),
        "{text}"
    );

    let create = request(&doc, "create-pet");
    assert_eq!(create["weight"].as_integer(), Some(1));
    assert_eq!(create["method"].as_str(), Some("POST"));
    let json = &create["json"];
    assert_eq!(json["name"].as_str(), Some("Rex { {not a template}}"));
    assert_eq!(json["kind"].as_str(), Some("dog"));
    assert_eq!(json["born"].as_str(), Some("2020-01-01"));
    assert_eq!(
        json["owner"]["email"].as_str(),
        Some("user{{ counter }}@example.com")
    );
    assert!(json.get("id").is_none() && json.get("tags").is_none());
    let statuses: Vec<String> = create["expect"]["status"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(statuses, ["201", "422"], "5xx is never expected");

    let one = request(&doc, "get-pets-petId");
    assert_eq!(one["path"].as_str(), Some("/pets/{{ random_int(1, 500) }}"));
    assert_eq!(
        one["expect"]["status"].as_array().unwrap().len(),
        2,
        "200 and 4xx"
    );
    assert_eq!(one["expect"]["status"][1].as_str(), Some("4xx"));
    assert_eq!(
        request(&doc, "listPets-2")["method"].as_str(),
        Some("DELETE")
    );

    let notes = request(&doc, "post-notes");
    assert_eq!(notes["body"].as_str(), Some("hello"));
    assert_eq!(notes["content_type"].as_str(), Some("text/plain"));
    let login = request(&doc, "post-login");
    assert_eq!(
        login["body"].as_str(),
        Some("user=a%26b&pass=x{{ counter }}")
    );

    assert!(text.contains("# - PUT /pets/{petId}/photo: its body (multipart/form-data)"));
    assert!(text.contains("# - GET /ws: answers 101 Switching Protocols"));
}

#[test]
fn json_documents_keep_their_order_and_relative_servers_get_a_placeholder() {
    let text = generate(
        r#"{"openapi":"3.1.0","info":{"title":"T","version":"1"},"servers":[{"url":"/api"}],
            "paths":{"/z":{"get":{"responses":{"200":{"description":"ok"}}}},
                     "/a":{"post":{"requestBody":{"content":{"application/json":{"schema":
                        {"type":"object","required":["n"],"properties":{"n":{"type":["integer","null"]}}}}}},
                        "responses":{"201":{"description":"ok"}}}}}}"#,
    );
    let doc = validates(&text);
    assert_eq!(
        doc["target"]["base_url"].as_str(),
        Some("http://127.0.0.1:8080/api")
    );
    assert!(text.contains("servers[0].url is relative"));
    assert_eq!(doc["requests"][0]["path"].as_str(), Some("/z"));
    assert_eq!(doc["requests"][1]["json"]["n"].as_integer(), Some(1));
}

#[test]
fn a_url_replaces_the_servers_and_a_name_the_title() {
    let text = scenario_from_openapi(
        &OpenApiSource {
            text: PETS,
            label: "pets.yaml",
        },
        Some("pets"),
        Some("http://127.0.0.1:9000"),
    )
    .unwrap();
    let doc = validates(&text);
    assert_eq!(doc["name"].as_str(), Some("pets"));
    assert_eq!(
        doc["target"]["base_url"].as_str(),
        Some("http://127.0.0.1:9000")
    );
}

#[test]
fn bad_documents_are_refused_with_the_reason() {
    let err = |text: &str| {
        scenario_from_openapi(&OpenApiSource { text, label: "x" }, None, None).unwrap_err()
    };
    assert!(matches!(
        err("{\"openapi\": \"3.0.0\","),
        InitError::Syntax { format: "JSON", .. }
    ));
    assert!(matches!(
        err("openapi: [3\npaths: {"),
        InitError::Syntax { format: "YAML", .. }
    ));
    assert_eq!(
        err("swagger: '2.0'\npaths: {}"),
        InitError::NotOpenApi3("a Swagger 2.0 document".into())
    );
    assert_eq!(
        err("openapi: 3.0.0\ninfo: {title: x}\npaths: {}"),
        InitError::NoOperations
    );
    assert_eq!(
        err("- a\n- b"),
        InitError::NotOpenApi3("not a mapping".into())
    );
}
